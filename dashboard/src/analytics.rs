//! Consent analytics: a site's decisions over a period as charts (inline
//! SVG drawn by `plotters`, no script) each beside a table of the same
//! numbers, and each dataset as CSV.
//!
//! The numbers come from the store's per-day counts
//! ([`DecisionStore::analytics`](consent_core::store::DecisionStore::analytics)),
//! never from the decisions themselves, so a page costs the same for a site
//! with a thousand decisions as for one with millions.
//!
//! Charts: `plotters`' SVG backend without a font backend. Text positions
//! are estimated (plotters' "naive" font) and the browser draws the text, so
//! no font files or font libraries are needed. The backend writes
//! presentation attributes (`fill`, `opacity`, `font-size`), never a `style`
//! attribute, so the page keeps `style-src 'self'`. Its fixed
//! `width`/`height` are replaced with a `viewBox`-only root that the
//! stylesheet scales to the column's width, and a `<title>`/`<desc>` pair
//! the `<svg role="img">` is labelled by.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consent_core::account::Permission;
use consent_core::analytics::{Day, Period, PeriodError, Report, Tally, percent};
use consent_core::export::csv_cell;
use consent_core::store::Store;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;

use crate::St;
use crate::i18n::Texts;
use crate::page::{self, Frame, Problem, now_ms};
use crate::session::LoggedIn;
use crate::sites;

/// The periods the chooser offers, in days.
const PRESETS: [u32; 3] = [7, 30, 90];
/// The period shown when none is asked for.
const DEFAULT_DAYS: u32 = 30;

/// The chart's drawing size: the SVG's `viewBox`, scaled to fit its column.
/// Narrow enough that text stays legible on a 320 px screen.
const WIDTH: u32 = 420;

/// Colours for accept all, reject all, custom and the rest (Okabe & Ito's
/// colour-blind-safe palette, each at least 3:1 against white for
/// WCAG 2.2 SC 1.4.11; the legend and the tables name every series).
const ACCEPT: RGBColor = RGBColor(0x00, 0x72, 0xb2);
const REJECT: RGBColor = RGBColor(0xc0, 0x50, 0x00);
const CUSTOM: RGBColor = RGBColor(0x00, 0x7a, 0x5a);
const REST: RGBColor = RGBColor(0x55, 0x55, 0x55);
const TEXT: RGBColor = RGBColor(0x1b, 0x1b, 0x1b);

/// `?days=N` or `?from=YYYY-MM-DD&to=YYYY-MM-DD`; strings, so a bad value
/// gets our message rather than the extractor's.
#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    days: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Why the period asked for cannot be shown.
enum BadPeriod {
    Days,
    Period(PeriodError),
}

impl BadPeriod {
    fn text(&self, t: &Texts) -> &'static str {
        match self {
            BadPeriod::Days => t.bad_days,
            BadPeriod::Period(PeriodError::BadDate(_)) => t.bad_date,
            BadPeriod::Period(PeriodError::Reversed) => t.reversed_period,
            BadPeriod::Period(PeriodError::TooLong) => t.long_period,
        }
    }
}

impl PeriodQuery {
    /// The period asked for, ending today (UTC) unless `from`/`to` say otherwise.
    fn period(&self, today: Day) -> Result<Period, BadPeriod> {
        let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
        match (nonempty(&self.from), nonempty(&self.to)) {
            (None, None) => {
                let days = match nonempty(&self.days) {
                    None => DEFAULT_DAYS,
                    Some(d) => d
                        .parse::<u32>()
                        .ok()
                        .filter(|d| (1..=consent_core::analytics::MAX_DAYS).contains(d))
                        .ok_or(BadPeriod::Days)?,
                };
                Ok(Period::last(days, today))
            }
            (from, to) => {
                let from = Day::parse(from.as_deref().unwrap_or("")).map_err(BadPeriod::Period)?;
                let to = Day::parse(to.as_deref().unwrap_or("")).map_err(BadPeriod::Period)?;
                Period::new(from, to).map_err(BadPeriod::Period)
            }
        }
    }
}

/// One chart and its table, as the template shows them.
struct Dataset {
    /// Its file name and the ids in the page (`days`, `methods`, …).
    name: &'static str,
    heading: &'static str,
    /// The SVG (trusted: drawn here, every text escaped by plotters).
    svg: String,
    /// Column headings; the first column holds each row's heading.
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Where each row's heading links to (the configuration versions' texts).
    links: Vec<Option<String>>,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    site: &'a str,
    presets: [u32; 3],
    /// The period shown, and its query string for the CSV links.
    from: String,
    to: String,
    query: String,
    total: u64,
    problem: Option<&'static str>,
    datasets: Vec<Dataset>,
}

/// `GET /sites/{site}/analytics`.
pub async fn show<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path(site): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::View).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let t = me.t;
    let today = Day::of_ms(now_ms());
    let (period, bad) = match q.period(today) {
        Ok(p) => (p, None),
        Err(e) => (Period::last(DEFAULT_DAYS, today), Some(e.text(t))),
    };
    let report = if bad.is_none() {
        match dash.store.analytics(&site.id, period).await {
            Ok(rows) => Some(Report::new(period, &rows)),
            Err(e) => return me.problem(e.into()),
        }
    } else {
        None
    };
    let page = AnalyticsPage {
        t,
        frame: me.frame(t.analytics).about(site.id.as_str()),
        site: site.id.as_str(),
        presets: PRESETS,
        from: period.from.to_string(),
        to: period.to.to_string(),
        query: format!("from={}&to={}", period.from, period.to),
        total: report.as_ref().map_or(0, |r| r.totals.total),
        problem: bad,
        datasets: report
            .as_ref()
            .map(|r| datasets(t, site.id.as_str(), r))
            .unwrap_or_default(),
    };
    let status = if bad.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page::render(status, &page)
}

/// `GET /sites/{site}/analytics/{dataset}.csv`: one dataset as CSV
/// (RFC 4180: a header row, CRLF line ends).
pub async fn csv<S: Store>(
    State(dash): St<S>,
    me: LoggedIn,
    Path((site, file)): Path<(String, String)>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let site = match sites::find(&dash.store, &me, &site, Permission::View).await {
        Ok(site) => site,
        Err(problem) => return me.problem(problem),
    };
    let Some(name) = file.strip_suffix(".csv").filter(|n| DATASETS.contains(n)) else {
        return me.problem(Problem::NotFound);
    };
    let period = match q.period(Day::of_ms(now_ms())) {
        Ok(p) => p,
        Err(e) => return (StatusCode::BAD_REQUEST, e.text(me.t)).into_response(),
    };
    let report = match dash.store.analytics(&site.id, period).await {
        Ok(rows) => Report::new(period, &rows),
        Err(e) => return me.problem(e.into()),
    };
    let (columns, rows) = table(name, &report);
    let mut out = String::new();
    for row in std::iter::once(columns.iter().map(|c| (*c).to_owned()).collect()).chain(rows) {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"{}-{name}-{}-{}.csv\"",
        site.id, period.from, period.to
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    page::secure(&mut res);
    res
}

/// Every dataset, by file name.
const DATASETS: [&str; 6] = ["days", "methods", "categories", "gpc", "languages", "versions"];

/// Decisions not made by accept all, reject all or custom: withdrawals and
/// those applied from GPC.
fn rest(t: &Tally) -> u64 {
    t.withdrawal + t.gpc_applied
}

/// A dataset's columns and rows, the same for its table and its CSV.
fn table(name: &str, r: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let total = r.totals.total;
    let pct = |n: u64| format!("{:.1}", percent(n, total));
    match name {
        "days" => (
            vec!["day", "decisions", "accept_all", "reject_all", "custom", "other"],
            r.days
                .iter()
                .map(|d| {
                    let t = &d.tally;
                    vec![
                        d.day.to_string(),
                        t.total.to_string(),
                        t.accept_all.to_string(),
                        t.reject_all.to_string(),
                        t.custom.to_string(),
                        rest(t).to_string(),
                    ]
                })
                .collect(),
        ),
        "methods" => (
            vec!["method", "decisions", "percent"],
            methods(&r.totals)
                .into_iter()
                .map(|(m, n)| vec![m.to_owned(), n.to_string(), pct(n)])
                .collect(),
        ),
        "categories" => (
            vec!["category", "granted", "decided", "percent"],
            r.categories
                .iter()
                .map(|c| {
                    vec![
                        c.category.clone(),
                        c.granted.to_string(),
                        c.decided.to_string(),
                        format!("{:.1}", percent(c.granted, c.decided)),
                    ]
                })
                .collect(),
        ),
        "gpc" => (
            vec!["signal", "decisions", "percent"],
            [("gpc_sent", r.totals.gpc), ("no_gpc", total - r.totals.gpc)]
                .into_iter()
                .map(|(s, n)| vec![s.to_owned(), n.to_string(), pct(n)])
                .collect(),
        ),
        "languages" => (
            vec!["language", "decisions", "percent"],
            r.languages
                .iter()
                .map(|(l, n)| vec![l.clone(), n.to_string(), pct(*n)])
                .collect(),
        ),
        _ => (
            vec![
                "version",
                "first_day",
                "last_day",
                "decisions",
                "accept_all_percent",
                "reject_all_percent",
                "custom_percent",
            ],
            r.versions
                .iter()
                .map(|v| {
                    let t = &v.tally;
                    vec![
                        v.version.0.clone(),
                        v.first.to_string(),
                        v.last.to_string(),
                        t.total.to_string(),
                        format!("{:.1}", percent(t.accept_all, t.total)),
                        format!("{:.1}", percent(t.reject_all, t.total)),
                        format!("{:.1}", percent(t.custom, t.total)),
                    ]
                })
                .collect(),
        ),
    }
}

/// The methods as the API spells them, with their counts.
fn methods(t: &Tally) -> [(&'static str, u64); 5] {
    [
        ("accept_all", t.accept_all),
        ("reject_all", t.reject_all),
        ("custom", t.custom),
        ("withdrawal", t.withdrawal),
        ("gpc", t.gpc_applied),
    ]
}

/// Every dataset of the report, charted and tabled, with headings in `t`'s language.
fn datasets(t: &Texts, site: &str, r: &Report) -> Vec<Dataset> {
    let total = r.totals.total;
    let mut out = Vec::with_capacity(DATASETS.len());
    let method_names = [t.accept_all, t.reject_all, t.custom_choice, t.withdrawal, t.gpc_applied];
    let gpc_names = [t.gpc_sent, t.no_gpc];
    let mut add = |name: &'static str, heading: &'static str, svg: String, columns: Vec<&'static str>| {
        let (_, mut rows) = table(name, r);
        // The tables name methods and signals in words; the CSV keeps the
        // API's spelling.
        let words: &[&'static str] = match name {
            "methods" => &method_names,
            "gpc" => &gpc_names,
            _ => &[],
        };
        for (row, word) in rows.iter_mut().zip(words) {
            row[0] = (*word).to_owned();
        }
        let links = rows
            .iter()
            .map(|row| (name == "versions").then(|| format!("/api/v1/owner/sites/{site}/configs/{}", row[0])))
            .collect();
        out.push(Dataset {
            name,
            heading,
            svg,
            columns,
            rows,
            links,
        });
    };

    let days_svg = day_chart(t, r);
    add(
        "days",
        t.per_day,
        days_svg,
        vec![
            t.day,
            t.decisions_n,
            t.accept_all,
            t.reject_all,
            t.custom_choice,
            t.other,
        ],
    );

    let bars: Vec<Bar> = methods(&r.totals)
        .iter()
        .zip(method_names)
        .zip([ACCEPT, REJECT, CUSTOM, REST, REST])
        .map(|(((_, n), label), colour)| Bar {
            label: label.to_owned(),
            parts: vec![(percent(*n, total), colour)],
        })
        .collect();
    add(
        "methods",
        t.methods,
        bar_chart("methods", t.methods, t.methods_desc, &bars),
        vec![t.method, t.decisions_n, t.percent],
    );

    let bars: Vec<Bar> = r
        .categories
        .iter()
        .map(|c| Bar {
            label: c.category.clone(),
            parts: vec![(percent(c.granted, c.decided), ACCEPT)],
        })
        .collect();
    add(
        "categories",
        t.grant_rate,
        bar_chart("categories", t.grant_rate, t.grant_rate_desc, &bars),
        vec![t.category, t.granted, t.decisions_n, t.percent],
    );

    let bars = vec![
        Bar {
            label: t.gpc_sent.to_owned(),
            parts: vec![(percent(r.totals.gpc, total), ACCEPT)],
        },
        Bar {
            label: t.no_gpc.to_owned(),
            parts: vec![(percent(total - r.totals.gpc, total), REST)],
        },
    ];
    add(
        "gpc",
        t.gpc_share,
        bar_chart("gpc", t.gpc_share, t.gpc_desc, &bars),
        vec![t.signal, t.decisions_n, t.percent],
    );

    let bars: Vec<Bar> = r
        .languages
        .iter()
        .map(|(l, n)| Bar {
            label: l.clone(),
            parts: vec![(percent(*n, total), ACCEPT)],
        })
        .collect();
    add(
        "languages",
        t.by_language,
        bar_chart("languages", t.by_language, t.languages_desc, &bars),
        vec![t.language, t.decisions_n, t.percent],
    );

    let bars: Vec<Bar> = r
        .versions
        .iter()
        .map(|v| {
            let tl = &v.tally;
            Bar {
                label: format!("{}…", v.version.0.chars().take(8).collect::<String>()),
                parts: vec![
                    (percent(tl.accept_all, tl.total), ACCEPT),
                    (percent(tl.reject_all, tl.total), REJECT),
                    (percent(tl.custom, tl.total), CUSTOM),
                    (percent(rest(tl), tl.total), REST),
                ],
            }
        })
        .collect();
    add(
        "versions",
        t.by_version,
        bar_chart("versions", t.by_version, t.versions_desc, &bars),
        vec![
            t.config_version,
            t.first_day,
            t.last_day,
            t.decisions_n,
            t.accept_all,
            t.reject_all,
            t.custom_choice,
        ],
    );
    out
}

/// A horizontal bar: its label and its stacked parts (percentages).
struct Bar {
    label: String,
    parts: Vec<(f64, RGBColor)>,
}

/// The chart's `<svg>`, labelled: `plotters`' root (fixed size) replaced by
/// one with only a `viewBox`, `role="img"`, and a `<title>` and `<desc>`.
fn finish(id: &str, title: &str, desc: &str, svg: String, height: u32) -> String {
    let body = svg.find('>').map(|end| svg[end + 1..].to_owned()).unwrap_or_default();
    let mut out = String::with_capacity(body.len() + 300);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        xml_escape(title),
        xml_escape(desc)
    );
    out.push_str(&body);
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars from 0 to 100 %, one per row.
fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar]) -> String {
    let height = 60 + 34 * bars.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = draw_bars(&root, bars);
        let _ = root.present();
    }
    finish(id, title, desc, svg, height)
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, bars: &[Bar]) -> Result<(), String> {
    let n = bars.len().max(1) as f64;
    let longest = bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .margin_right(28)
        .x_label_area_size(30)
        .y_label_area_size((longest * 8 + 12).clamp(40, 170))
        .build_cartesian_2d(0f64..100f64, 0f64..n)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(5)
        .x_label_formatter(&|x| format!("{x:.0}%"))
        .label_style(("sans-serif", 15).into_font().color(&TEXT))
        .axis_style(TEXT)
        .light_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()
        .map_err(|e| e.to_string())?;
    // The bars' labels are drawn beside the axis by hand: plotters' own
    // category axis cannot hold a single category.
    let label = ("sans-serif", 15)
        .into_font()
        .color(&TEXT)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, bar) in bars.iter().enumerate() {
        // The first bar at the top, as the table's first row.
        let top = n - i as f64;
        let mut at = 0.0;
        for (value, colour) in &bar.parts {
            if *value <= 0.0 {
                continue;
            }
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(at, top - 0.85), ((at + value).min(100.0), top - 0.15)],
                    colour.filled(),
                )))
                .map_err(|e| e.to_string())?;
            at += value;
        }
        let (x, y) = chart.backend_coord(&(0.0, top - 0.5));
        root.draw(&Text::new(bar.label.clone(), (x - 8, y), label.clone()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A stacked series: its legend, its colour, its count in a day's tally.
type Series<'a> = (&'a str, RGBColor, fn(&Tally) -> u64);

/// Decisions per day, stacked by method.
fn day_chart(t: &Texts, r: &Report) -> String {
    let height = 260;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = draw_days(&root, t, r);
        let _ = root.present();
    }
    let desc = format!("{} {} – {}.", t.per_day_desc, r.period.from, r.period.to);
    finish("days", t.per_day, &desc, svg, height)
}

fn draw_days<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    t: &Texts,
    r: &Report,
) -> Result<(), String> {
    let n = r.days.len() as u32;
    let max = r.days.iter().map(|d| d.tally.total).max().unwrap_or(0).max(1);
    // Headroom for the legend above the tallest bar.
    let top = max + max / 3 + 1;
    let days: Vec<Day> = r.days.iter().map(|d| d.day).collect();
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .margin_right(28)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0u32..n, 0u64..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(4)
        .x_label_formatter(&|i| {
            days.get(*i as usize)
                .map(|d| {
                    let (_, m, day) = d.civil();
                    format!("{m:02}-{day:02}")
                })
                .unwrap_or_default()
        })
        .y_labels(5)
        .label_style(("sans-serif", 15).into_font().color(&TEXT))
        .axis_style(TEXT)
        .light_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()
        .map_err(|e| e.to_string())?;
    let series: [Series; 4] = [
        (t.accept_all, ACCEPT, |t| t.accept_all),
        (t.reject_all, REJECT, |t| t.reject_all),
        (t.custom_choice, CUSTOM, |t| t.custom),
        (t.other, REST, rest),
    ];
    let mut base = vec![0u64; r.days.len()];
    for (label, colour, value) in series {
        let rects: Vec<Rectangle<(u32, u64)>> = r
            .days
            .iter()
            .enumerate()
            .filter(|(_, d)| value(&d.tally) > 0)
            .map(|(i, d)| {
                let v = value(&d.tally);
                let rect = Rectangle::new([(i as u32, base[i]), (i as u32 + 1, base[i] + v)], colour.filled());
                base[i] += v;
                rect
            })
            .collect();
        chart
            .draw_series(rects)
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15).into_font().color(&TEXT))
        .background_style(WHITE)
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_from_the_query() {
        let today = Day::parse("2026-12-05").unwrap();
        let q = |days: Option<&str>, from: Option<&str>, to: Option<&str>| PeriodQuery {
            days: days.map(str::to_owned),
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        };
        assert_eq!(q(None, None, None).period(today).ok(), Some(Period::last(30, today)));
        assert_eq!(
            q(Some("7"), None, None).period(today).ok(),
            Some(Period::last(7, today))
        );
        assert!(q(Some("0"), None, None).period(today).is_err());
        assert!(q(Some("x"), None, None).period(today).is_err());
        let p = q(None, Some("2026-11-01"), Some("2026-11-30"))
            .period(today)
            .ok()
            .unwrap();
        assert_eq!(p.days(), 30);
        assert!(q(None, Some("2026-11-01"), None).period(today).is_err());
        assert!(q(None, Some("2026-12-01"), Some("2026-11-01")).period(today).is_err());
    }

    #[test]
    fn charts_are_labelled_scalable_svg_without_style_attributes() {
        let day = Day::parse("2026-12-01").unwrap();
        let period = Period::last(90, day);
        let rows = vec![consent_core::analytics::DayTally {
            day,
            version: consent_core::ConfigVersion("abcdef0123".into()),
            tally: Tally {
                total: 3,
                accept_all: 1,
                reject_all: 1,
                custom: 1,
                categories: [("analytics".to_owned(), 2)].into(),
                languages: [("nl".to_owned(), 3)].into(),
                ..Tally::default()
            },
        }];
        let report = Report::new(period, &rows);
        let t = crate::i18n::Lang::En.texts();
        for d in datasets(t, "demo", &report) {
            assert!(d.svg.starts_with("<svg "), "{}", d.svg);
            assert!(
                d.svg.contains(r#"role="img""#) && d.svg.contains("<title id="),
                "{}",
                d.svg
            );
            assert!(!d.svg.contains("style="), "{}", d.svg);
            assert!(!d.svg.contains(" width=\"420\""), "{}", d.svg);
            assert!(d.svg.trim_end().ends_with("</svg>"), "{}", d.svg);
        }
    }
}
