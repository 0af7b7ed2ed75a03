//! The second layer: a modal `<dialog>` (the browser traps focus in it,
//! makes the page inert and closes it on Escape) with one switch per
//! category (necessary locked on), one per service, and each service's
//! cookies; plus the download of the visitor's receipt.

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsCast;
use web_sys::{HtmlDialogElement, HtmlInputElement, Node};

use crate::Ui;
use crate::dom::{Element, add, attr, button, el, sure, text};
use crate::loader::get;
use crate::site::{COOKIE_FIELDS, Site};

fn id(prefix: &str, slug: &str) -> String {
    let mut s = String::from(prefix);
    s.push_str(slug);
    s
}

fn switch(input_id: &str, label: &str, data: (&str, &str)) -> Element {
    let row = el("div", "km-row");
    let l = text("label", "", label);
    attr(&l, "for", input_id);
    let i = el("input", "km-switch");
    attr(&i, "type", "checkbox");
    attr(&i, "role", "switch");
    attr(&i, "id", input_id);
    attr(&i, data.0, data.1);
    add(&row, &l);
    add(&row, &i);
    row
}

fn build(site: &Site) -> HtmlDialogElement {
    let d = el("dialog", "km-dlg");
    attr(&d, "aria-labelledby", "km-dt");
    let head = el("div", "km-head");
    let h = text("h2", "km-title", &site.text("prefs_title"));
    attr(&h, "id", "km-dt");
    add(&head, &h);
    let x = button("km-x", "×", "close");
    attr(&x, "aria-label", &site.text("close"));
    add(&head, &x);
    add(&d, &head);
    add(&d, &text("p", "", &site.text("prefs_intro")));
    let gpc = site.gpc();
    if gpc {
        add(&d, &text("p", "km-gpc", &site.text("gpc")));
    }
    let cols = COOKIE_FIELDS.map(|f| site.text(if f == "name" { "cookie" } else { f }));
    for c in &site.categories {
        let sec = el("section", "km-cat");
        let row = switch(&id("km-c-", &c.id), &c.title, ("data-cat", &c.id));
        let desc_id = id("km-cd-", &c.id);
        if let Some(input) = row.last_element_child() {
            attr(&input, "aria-describedby", &desc_id);
            if c.required {
                attr(&input, "checked", "");
                attr(&input, "disabled", "");
            }
        }
        add(&sec, &row);
        let mut desc = c.description.clone();
        if c.required {
            desc.push_str(" (");
            desc.push_str(&site.text("always_on"));
            desc.push(')');
        } else if gpc && c.gpc_opt_out {
            desc.push(' ');
            desc.push_str(&site.text("gpc_category"));
        }
        let p = text("p", "km-cdesc", &desc);
        attr(&p, "id", &desc_id);
        add(&sec, &p);
        let services: Vec<_> = site.services_of(&c.id).collect();
        if !services.is_empty() {
            let det = el("details", "km-svcs");
            let mut summary = site.text("services");
            summary.push_str(" (");
            crate::dom::push_number(&mut summary, services.len() as u64);
            summary.push(')');
            add(&det, &text("summary", "", &summary));
            for s in services {
                let sd = el("div", "km-svc");
                let mut label = s.name.clone();
                if !s.provider.is_empty() {
                    label.push_str(" · ");
                    label.push_str(&s.provider);
                }
                let row = switch(&id("km-s-", &s.id), &label, ("data-svc", &s.id));
                if c.required
                    && let Some(input) = row.last_element_child()
                {
                    attr(&input, "checked", "");
                    attr(&input, "disabled", "");
                }
                add(&sd, &row);
                if !s.description.is_empty() {
                    add(&sd, &text("p", "", &s.description));
                }
                if !s.cookies.is_empty() {
                    let t = el("table", "km-cookies");
                    add(&t, &text("caption", "km-sr", &label));
                    let tr = el("tr", "");
                    for col in &cols {
                        let th = text("th", "", col);
                        attr(&th, "scope", "col");
                        add(&tr, &th);
                    }
                    let thead = el("thead", "");
                    add(&thead, &tr);
                    add(&t, &thead);
                    let body = el("tbody", "");
                    for k in &s.cookies {
                        let tr = el("tr", "");
                        for f in COOKIE_FIELDS {
                            let td = el("td", "");
                            if let Some(v) = get(k, f).as_string() {
                                td.set_text_content(Some(&v));
                            }
                            add(&tr, &td);
                        }
                        add(&body, &tr);
                    }
                    add(&t, &body);
                    add(&sd, &t);
                }
                add(&det, &sd);
            }
            add(&sec, &det);
        }
        add(&d, &sec);
    }
    let status = el("p", "km-status");
    attr(&status, "role", "status");
    attr(&status, "id", "km-st");
    add(&d, &status);
    let actions = el("div", "km-actions");
    add(&actions, &button("km-btn", &site.text("reject_all"), "reject"));
    add(&actions, &button("km-btn", &site.text("accept_all"), "accept"));
    add(&actions, &button("km-btn", &site.text("save"), "save"));
    add(&d, &actions);
    let foot = el("div", "km-foot");
    add(&foot, &button("km-link", &site.text("receipt"), "receipt"));
    if !site.privacy_policy_url.is_empty() {
        let a = text("a", "km-link", &site.text("privacy_policy"));
        attr(&a, "href", &site.privacy_policy_url);
        add(&foot, &a);
    }
    add(&d, &foot);
    d.unchecked_into()
}

/// A switch of the dialog by its id.
pub fn input(id_prefix: &str, slug: &str) -> Option<HtmlInputElement> {
    crate::dom::by_id(&id(id_prefix, slug)).map(JsCast::unchecked_into)
}

/// Shows the switches as the current decision has them (all off when the
/// visitor has not decided: nothing pre-ticked).
fn reflect_decision(site: &Site) {
    let dec = site.k.decision();
    let cats = get(&dec, "categories");
    let svcs = get(&dec, "services");
    for c in site.categories.iter().filter(|c| !c.required) {
        let on = get(&cats, &c.id).is_truthy();
        if let Some(i) = input("km-c-", &c.id) {
            i.set_checked(on);
        }
        for s in site.services_of(&c.id) {
            let own = get(&svcs, &s.id);
            if let Some(i) = input("km-s-", &s.id) {
                i.set_checked(own.as_bool().unwrap_or(on));
            }
        }
    }
}

pub fn open(ui: &mut Ui) {
    if ui.dialog.is_none() {
        let d = build(&ui.site);
        add(&ui.root, &d);
        ui.dialog = Some(d);
    }
    reflect_decision(&ui.site);
    if let Some(d) = &ui.dialog
        && !d.open()
    {
        sure(d.show_modal());
    }
}

pub fn close(ui: &mut Ui) {
    if let Some(d) = &ui.dialog {
        d.close();
    }
}

pub fn follow_category(ui: &mut Ui, cat: &str) {
    let on = input("km-c-", cat).is_some_and(|i| i.checked());
    for s in ui.site.services_of(cat) {
        if let Some(i) = input("km-s-", &s.id) {
            i.set_checked(on);
        }
    }
}

/// The proof download button: the file comes when the server answers
/// ([`crate::record`]); until a decision is recorded, the dialog says so.
pub fn download_proof(w: &mut crate::Widget) {
    if crate::record::download(w) {
        return;
    }
    if let (Some(ui), Some(s)) = (&w.ui, crate::dom::by_id("km-st")) {
        s.set_text_content(Some(&ui.site.text("no_receipt")));
    }
}

/// Moves the focus to the other end of the open dialog when Tab would
/// leave it; true when it did.
pub fn trap_focus(ui: &mut Ui, shift: bool) -> bool {
    let Some(d) = ui.dialog.as_ref().filter(|d| d.open()) else {
        return false;
    };
    let list = sure(d.query_selector_all("button,summary,a[href],input:not([disabled])"));
    let n = list.length();
    let (Some(first), Some(last)) = (list.get(0), n.checked_sub(1).and_then(|i| list.get(i))) else {
        return false;
    };
    let active = crate::dom::focused().map(Node::from);
    let is = |n: &Node| active.as_ref().is_some_and(|a| crate::dom::same(a, n));
    let target = if shift && (is(&first) || !d.contains(active.as_ref())) {
        last
    } else if !shift && is(&last) {
        first
    } else {
        return false;
    };
    crate::dom::focus(&target);
    true
}
