//! Exports people open in a spreadsheet: one way to write a CSV cell, for
//! the owner API's decision export and the dashboard's analytics downloads.

/// A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180
/// §2), and with a leading `'` when a spreadsheet would take it for a
/// formula (OWASP, "CSV Injection"); plain numbers, negative ones too, stay
/// numbers.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
        assert_eq!(csv_cell("-1.5"), "-1.5");
        assert_eq!(csv_cell("\t=x"), "'\t=x");
    }
}
