//! Dutch and English: which one a request gets, and the interface texts of
//! each. Templates read the texts as fields (`{{ t.save }}`), so a missing or
//! misspelt text is a compile error, not a blank on a page.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

/// Dutch is the default; English when the browser prefers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// The first of `nl`/`en` in `Accept-Language` (quality order as sent,
    /// which is how browsers send it); Dutch when neither is there.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for tag in accept.split(',').take(20) {
            let primary = tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if primary.starts_with("nl") {
                return Lang::Nl;
            }
            if primary.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Nl
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// The request's language, for pages shown without a session.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

/// Declares [`Texts`] and its Dutch and English values, each pair together.
macro_rules! texts {
    ($($key:ident: $nl:expr, $en:expr;)*) => {
        /// The interface texts of one language.
        pub struct Texts {
            $(pub $key: &'static str,)*
        }

        static NL: Texts = Texts { $($key: $nl,)* };
        static EN: Texts = Texts { $($key: $en,)* };
    };
}

texts! {
    // The `lang` attribute of the page.
    code: "nl", "en";
    // Publishing, versions and the live preview (versions.rs, preview.rs).
    publish: "Publiceren", "Publish";
    versions: "Versies", "Versions";
    version_of: "Versie", "Version";
    preview: "Voorbeeld", "Preview";
    no_draft: "Er is geen concept: bezoekers zien de gepubliceerde versie. Elke opgeslagen wijziging wordt eerst een concept.", "There is no draft: visitors see the published version. Every saved change is a draft first.";
    draft_by: "Concept opgeslagen door", "Draft saved by";
    draft_stale: "Na het begin van dit concept is een andere versie gepubliceerd. De wijzigingen hieronder zijn ten opzichte van wat nu gepubliceerd is.", "Another version was published after this draft was started. The changes below are against what is published now.";
    changes_published: "Wijzigingen ten opzichte van de gepubliceerde versie", "Changes against the published version";
    changes_previous: "Wijzigingen ten opzichte van de vorige versie", "Changes against the version before it";
    no_changes: "Geen wijzigingen.", "No changes.";
    first_version: "Dit is de eerste bekende versie.", "This is the first known version.";
    diff_texts: "Teksten", "Texts";
    diff_settings: "Instellingen", "Settings";
    diff_field: "Veld", "Field";
    diff_old: "Was", "Was";
    diff_new: "Wordt", "Becomes";
    added: "toegevoegd", "added";
    removed: "verwijderd", "removed";
    changed: "gewijzigd", "changed";
    cookies_of: "Cookies", "Cookies";
    built_in_text: "(standaardtekst)", "(built-in text)";
    empty_value: "(leeg)", "(empty)";
    reask_yes: "Bezoekers die al gekozen hebben, krijgen de vraag opnieuw: ja, want", "Visitors who already decided will be asked again: yes, because";
    reask_no: "Bezoekers die al gekozen hebben, krijgen de vraag opnieuw: nee, want de categorieën en diensten waarover zij beslisten zijn niet veranderd.", "Visitors who already decided will be asked again: no, because the categories and services they decided on did not change.";
    reask_refusals: "Een weigering blijft gelden: wat een bezoeker weigerde, wordt niet opnieuw gevraagd.", "A refusal still holds: what a visitor refused is not asked again.";
    r_cat_added: "categorie toegevoegd", "category added";
    r_cat_removed: "categorie verwijderd", "category removed";
    r_cat_required: "categorie werd verplicht of juist niet meer", "category became required or optional";
    r_svc_added: "dienst toegevoegd", "service added";
    r_svc_removed: "dienst verwijderd", "service removed";
    r_svc_moved: "dienst naar een andere categorie verplaatst", "service moved to another category";
    r_reordered: "de volgorde van de categorieën of diensten is veranderd", "the order of the categories or services changed";
    publish_now: "Publiceer dit concept", "Publish this draft";
    discard_draft: "Concept weggooien", "Discard the draft";
    draft_changed: "Het concept is gewijzigd nadat u het bekeek. Bekijk de wijzigingen opnieuw.", "The draft changed after you looked at it. Review the changes again.";
    published: "Gepubliceerd", "Published";
    new_version: "Nieuwe versie", "New version";
    replaces: "Vervangt", "Replaces";
    snippet_same: "Het fragment op uw site blijft hetzelfde:", "The snippet on your site stays the same:";
    snippet_soon: "Bezoekers krijgen de nieuwe versie binnen vijf minuten (zo lang gebruikt een browser de loader uit zijn cache).", "Visitors get the new version within five minutes (as long as a browser uses the loader from its cache).";
    asked_again: "Opnieuw gevraagd", "Asked again";
    current_marker: "(huidig)", "(current)";
    before_trail: "van voor het auditlogboek", "from before the audit trail";
    restore: "Terugzetten als concept", "Restore as draft";
    draft_exists: "Er is een concept dat nog niet gepubliceerd is.", "There is a draft that is not published yet.";
    as_json: "Als JSON", "As JSON";
    summary: "Samenvatting", "Summary";
    languages: "Talen", "Languages";
    required: "verplicht", "required";
    preview_help: "Zo ziet een bezoeker het concept: de echte loader en widget in een afgeschermd kader. Een keuze in het voorbeeld wordt nergens vastgelegd.", "This is how a visitor sees the draft: the real loader and widget in an isolated frame. A choice made in the preview is recorded nowhere.";
    preview_frame: "Voorbeeld van de banner", "Preview of the banner";
    preview_published: "Er is geen concept: dit is de gepubliceerde versie.", "There is no draft: this is the published version.";
    layer: "Laag", "Layer";
    layer_banner: "Banner", "Banner";
    layer_preferences: "Voorkeuren", "Preferences";
    // The public Keurmerk seal page (no session).
    seal_title: "Keurmerk-zegel", "Keurmerk seal";
    seal_intro: "Dit is wat de laatste scan van deze site heeft gemeten, vastgelegd in een openbaar, door getuigen medeondertekend logboek. Iedereen kan het zelf controleren.", "This is what the latest scan of this site measured, recorded in a public log that witnesses cosign. Anyone can check it themselves.";
    seal_none: "Voor deze site is nog geen scan vastgelegd: het zegel zegt daarom niets.", "No scan of this site has been recorded yet, so the seal says nothing.";
    seal_passed: "Geslaagd: alles gemeten, niets gevonden.", "Passed: everything measured, nothing found.";
    seal_failed: "Niet geslaagd: de scan vond problemen.", "Failed: the scan found problems.";
    seal_incomplete: "Onvolledig: niets gevonden, maar niet alles kon worden gemeten.", "Incomplete: nothing found, but not everything could be measured.";
    seal_scanned: "Gescand op", "Scanned on";
    seal_days_old: "dagen geleden", "days ago";
    seal_old: "Deze scan is ouder dan 30 dagen: de site kan sindsdien veranderd zijn.", "This scan is more than 30 days old: the site may have changed since.";
    seal_measured: "Wat er gemeten is", "What was measured";
    seal_config: "Configuratieversie van de site", "The site's configuration version";
    seal_verify: "Zelf controleren", "Check it yourself";
    seal_verify_help: "Download het bewijs en controleer het offline met keurmerk-verify: de handtekening van het logboek, de opname in het logboek en (met --witness) de medeondertekeningen van de getuigen.", "Download the proof and check it offline with keurmerk-verify: the log's signature, the inclusion in the log and (with --witness) the witnesses' cosignatures.";
    seal_download: "Bewijs downloaden (JSON)", "Download the proof (JSON)";
    seal_pending: "Deze verklaring wacht nog op het volgende controlepunt van het logboek (binnen enkele seconden); het bewijs volgt dan.", "This attestation is waiting for the log's next checkpoint (within seconds); its proof follows then.";
    seal_leaf: "Plaats in het logboek", "Position in the log";
    seal_key: "Sleutel van het logboek", "The log's key";
    seal_embed: "Het zegel op uw site", "The seal on your site";
    cookie_policy: "Cookieverklaring", "Cookie policy";
    cookie_policy_help: "altijd volgens de gepubliceerde configuratie; voeg ?lang=en toe voor een andere taal", "always the published configuration's; add ?lang=nl for another language";
    // Onboarding: a new site, the snippet, the installation check.
    new_site: "Nieuwe site", "New site";
    back_to_sites: "Terug naar de sites", "Back to the sites";
    site_id: "Site-id", "Site id";
    site_id_help: "Kleine letters, cijfers en streepjes, bijvoorbeeld mijn-winkel; staat in de link naar uw banner en kan niet meer veranderen.", "Lower-case letters, digits and hyphens, e.g. my-shop; it is part of your banner's address and cannot change later.";
    domains: "Domeinen van de site", "The site's domains";
    domains_help: "Eén per regel, bijvoorbeeld winkel.example.nl en www.winkel.example.nl (https, tenzij u http:// ervoor zet). Alleen pagina's op deze domeinen mogen toestemming vastleggen.", "One per line, e.g. shop.example.nl and www.shop.example.nl (https, unless you write http:// before it). Only pages on these domains may record consent.";
    domains_needed: "Geef minstens één domein.", "Give at least one domain.";
    id_taken: "Dit site-id is al in gebruik; kies een ander.", "This site id is taken; choose another.";
    at_most: "Ten hoogste", "At most";
    create_site: "Site aanmaken", "Create the site";
    install_title: "Installeren", "Install";
    install_link: "Installeren en controleren", "Install and check";
    // Picking services from the vendor catalogue.
    services_title: "Diensten kiezen", "Choose services";
    services_link: "Diensten kiezen uit de catalogus", "Choose services from the catalogue";
    services_onboarding: "De site is aangemaakt. Kies nu de diensten die de site gebruikt; daarna volgt de installatie.", "The site has been created. Now choose the services the site uses; installing comes next.";
    services_intro: "Vink de diensten aan die de site gebruikt. Elke dienst komt in zijn eigen categorie, met zijn cookies en de hosts die de loader tegenhoudt tot de bezoeker toestemming geeft. Een uitgevinkte dienst uit de catalogus wordt verwijderd; diensten die u zelf hebt toegevoegd blijven staan.", "Tick the services the site uses. Each lands in its own category, with its cookies and the hosts the loader holds back until the visitor consents. A catalogue service you untick is removed; services you added yourself stay.";
    services_search: "Zoeken op naam, bedrijf of cookie", "Search by name, company or cookie";
    services_search_button: "Zoeken", "Search";
    services_none_found: "Geen diensten gevonden.", "No services found.";
    services_filtered: "Alleen de getoonde diensten worden bij opslaan toegevoegd of verwijderd.", "Saving adds or removes only the services shown.";
    services_saved: "Opgeslagen als concept: bezoekers zien het pas als het is gepubliceerd.", "Saved as a draft: visitors see it once it is published.";
    services_no_category: "De site heeft deze categorie niet: voeg haar eerst toe in de configuratie.", "The site does not have this category: add it to the configuration first.";
    services_save_continue: "Opslaan en verder naar installeren", "Save and go on to installing";
    services_skip: "Overslaan", "Skip";
    catalogue_country: "land", "country";
    catalogue_privacy_statement: "Privacyverklaring", "Privacy statement";
    catalogue_no_cookies: "Zet geen cookies.", "Sets no cookies.";
    catalogue_cookies_of: "Cookies van", "Cookies of";
    catalogue_cookie: "Cookie", "Cookie";
    catalogue_lifetime: "Bewaartermijn", "Lifetime";
    catalogue_lifetime_unknown: "niet gedocumenteerd", "not documented";
    catalogue_purpose: "Doel", "Purpose";
    // The register of processing (GDPR art. 30).
    register_title: "Register van verwerkingen", "Register of processing";
    register_link: "Register van verwerkingen (art. 30 AVG)", "Register of processing (GDPR art. 30)";
    register_intro:
        "Het register van verwerkingsactiviteiten van de tracking op deze site (art. 30 AVG), gemaakt uit de gepubliceerde configuratie, de catalogus en uw gegevens onderaan. Wijzigt u de configuratie, dan volgt het register zodra die gepubliceerd is.",
        "The register of processing activities of this site's tracking (GDPR art. 30), made from the published configuration, the catalogue and your details at the bottom. When the configuration changes, the register follows once it is published.";
    register_made_from: "Gemaakt uit configuratieversie", "Made from configuration version";
    register_generated: "op", "on";
    register_exports: "Downloaden", "Download";
    register_print: "Afdrukbare HTML", "Printable HTML";
    register_warnings: "Nog aan te vullen", "Still to complete";
    register_controller: "Verwerkingsverantwoordelijke", "Controller";
    register_controller_name: "Naam", "Name";
    register_controller_help: "De organisatie die de site exploiteert en over doel en middelen van de verwerking beslist.", "The organisation that runs the site and decides on the purposes and means of the processing.";
    register_address: "Adres", "Address";
    register_email: "E-mailadres", "E-mail address";
    register_email_help: "Waar betrokkenen en de Autoriteit Persoonsgegevens u bereiken.", "Where data subjects and the supervisory authority reach you.";
    register_phone: "Telefoonnummer", "Telephone number";
    register_dpo: "Functionaris gegevensbescherming", "Data protection officer";
    register_dpo_name: "Naam van de functionaris gegevensbescherming", "Data protection officer's name";
    register_dpo_contact: "Contact van de functionaris gegevensbescherming (e-mail of telefoon)", "Data protection officer's contact (e-mail or telephone)";
    register_dpo_help:
        "Verplicht voor overheidsinstanties, en als uw kernactiviteiten bestaan uit regelmatige en stelselmatige observatie van betrokkenen op grote schaal of uit verwerking van bijzondere persoonsgegevens op grote schaal (art. 37(1) AVG). Anders mag u dit leeg laten.",
        "Required for public authorities, and when your core activities consist of regular and systematic monitoring of data subjects on a large scale or of processing special categories of data on a large scale (GDPR art. 37(1)). Otherwise you may leave it empty.";
    register_representative: "Vertegenwoordiger in de EU (art. 27 AVG)", "Representative in the EU (GDPR art. 27)";
    register_representative_help: "Alleen als uw organisatie buiten de EU gevestigd is: naam en contactgegevens van de vertegenwoordiger.", "Only when your organisation is established outside the EU: the representative's name and contact details.";
    register_not_given: "niet opgegeven", "not given";
    register_activity: "Verwerkingsactiviteit", "Processing activity";
    register_purpose: "Doel", "Purpose";
    register_legal_basis: "Rechtsgrond", "Legal basis";
    register_subjects: "Categorieën betrokkenen", "Categories of data subjects";
    register_data: "Categorieën persoonsgegevens", "Categories of personal data";
    register_recipients: "Ontvangers", "Recipients";
    register_no_recipients: "Geen ontvangers buiten de organisatie opgegeven.", "No recipients outside the organisation declared.";
    register_service: "Dienst", "Service";
    register_company: "Bedrijf", "Company";
    register_country: "Land", "Country";
    register_privacy: "Privacyverklaring", "Privacy statement";
    register_transfers: "Doorgifte buiten de EER", "Transfers outside the EEA";
    register_no_transfers: "Geen: elke opgegeven ontvanger verwerkt in de EER.", "None: every declared recipient processes in the EEA.";
    register_safeguard: "Grondslag van de doorgifte", "What the transfer rests on";
    register_retention: "Bewaartermijnen", "Retention";
    register_what: "Wat", "What";
    register_period: "Termijn", "Period";
    register_measures: "Technische en organisatorische beveiligingsmaatregelen (art. 32 AVG)", "Technical and organisational security measures (GDPR art. 32)";
    register_adequacy_source: "Landen met een adequaatheidsbesluit volgens", "Countries with an adequacy decision according to";
    register_form_title: "Uw gegevens voor het register", "Your details for the register";
    register_form_intro: "Vul dit één keer in; het register en de downloads nemen het over. Velden met * zijn verplicht.", "Fill this in once; the register and its downloads take it over. Fields marked * are required.";
    register_safeguards: "Waarborgen voor doorgifte buiten de EER", "Safeguards for transfers outside the EEA";
    register_safeguards_help:
        "Alleen voor ontvangers buiten de EER (art. 44–49 AVG). Kies het Data Privacy Framework alleen als het Amerikaanse bedrijf op de DPF-lijst staat (dataprivacyframework.gov); modelcontractbepalingen of bindende bedrijfsvoorschriften staan in de verwerkersovereenkomst van de leverancier; een uitzondering van art. 49 geldt alleen voor incidentele doorgiften.",
        "Only for recipients outside the EEA (GDPR arts. 44–49). Choose the Data Privacy Framework only when the US company is on the DPF list (dataprivacyframework.gov); standard contractual clauses or binding corporate rules are in the vendor's data processing agreement; an art. 49 derogation covers occasional transfers only.";
    register_no_safeguards_needed: "Elke opgegeven ontvanger verwerkt in de EER: er is geen waarborg te kiezen.", "Every declared recipient processes in the EEA: there is no safeguard to choose.";
    register_adequacy_applies: "adequaatheidsbesluit van toepassing", "adequacy decision applies";
    register_measures_own: "Uw eigen maatregelen (aanvullend)", "Your own measures (in addition)";
    register_measures_help: "Bijvoorbeeld versleutelde laptops, een toegangsbeleid of verwerkersovereenkomsten. De maatregelen van Keurmerk staan al in het register.", "For example encrypted laptops, an access policy or data processing agreements. Keurmerk's own measures are in the register already.";
    register_saved: "Opgeslagen. Het register is bijgewerkt.", "Saved. The register is up to date.";
    register_errors: "Het formulier is niet opgeslagen. Verbeter:", "The form was not saved. Please correct:";
    register_view_only: "Alleen eigenaren van de site kunnen de gegevens van het register wijzigen.", "Only the site's owners can change the register's details.";
    register_last_saved: "Laatst opgeslagen door", "Last saved by";
    err_required: "Verplicht.", "Required.";
    err_too_long: "Te lang: hoogstens", "Too long: at most";
    err_chars: "tekens.", "characters.";
    err_email: "Geen geldig e-mailadres (zoals naam@voorbeeld.nl).", "Not a valid e-mail address (such as name@example.com).";
    err_phone: "Geen telefoonnummer (cijfers, eventueel met +, spaties of streepjes).", "Not a telephone number (digits, optionally with +, spaces or dashes).";
    err_contact: "Geef een e-mailadres of een telefoonnummer.", "Give an e-mail address or a telephone number.";
    err_control: "Bevat tekens die niet zijn toegestaan.", "Contains characters that are not allowed.";
    err_choice: "Geen van de keuzes.", "Not one of the choices.";
    snippet_title: "1. Plak deze regel als eerste in de <head>", "1. Paste this line first in <head>";
    snippet_help: "Als allereerste element van de <head> van elke pagina, zonder async of defer: alleen dan houdt de loader trackers tegen voordat ze draaien.", "As the very first element of every page's <head>, without async or defer: only then does the loader hold trackers back before they run.";
    csp_title: "2. Content-Security-Policy", "2. Content-Security-Policy";
    csp_help: "Gebruikt de site een Content-Security-Policy, voeg dan deze regels toe (WebAssembly vraagt 'wasm-unsafe-eval').", "If the site sends a Content-Security-Policy, add these lines (WebAssembly needs 'wasm-unsafe-eval').";
    nonce_help: "Zet de nonce van de pagina op de loader-tag (nonce=\"…\"): de loader geeft hem door aan de banner, zijn stijlblad en elk script dat hij vrijgeeft.", "Put the page's nonce on the loader tag (nonce=\"…\"): the loader passes it on to the banner, its stylesheet and every script it releases.";
    check_title: "3. Controleer de installatie", "3. Check the installation";
    check_url: "Pagina om te controleren", "Page to check";
    check_url_help: "Een pagina op een van de domeinen van de site. De server laadt haar en leest de HTML; er draait niets.", "A page on one of the site's domains. The server loads it and reads its HTML; nothing runs.";
    check_button: "Controleren", "Check";
    check_result: "Gevonden op", "Found on";
    loader_first_ok: "De loader is het eerste script van de pagina.", "The loader is the page's first script.";
    loader_first_bad: "Er draait een script vóór de loader: zet de loader als eerste in de <head>.", "A script runs before the loader: put the loader first in <head>.";
    loader_head_ok: "De loader staat in de <head>.", "The loader is in <head>.";
    loader_head_bad: "De loader staat niet in de <head>: verplaats hem naar het begin van de <head>.", "The loader is not in <head>: move it to the start of <head>.";
    loader_sync_ok: "De loader laadt synchroon.", "The loader loads synchronously.";
    loader_sync_bad: "De loader heeft async, defer of type=module: haal dat weg, anders draaien tags eerder dan hij.", "The loader has async, defer or type=module: remove it, or tags run before it.";
    loader_missing: "Geen Keurmerk-loader gevonden op deze pagina: plak de regel hierboven.", "No Keurmerk loader found on this page: paste the line above.";
    nothing_before_loader: "Geen bekende trackers vóór de loader.", "No known trackers before the loader.";
    no_plain_tags: "Geen trackers als gewone <script src> of <img src> in de HTML.", "No trackers written as plain <script src> or <img src> in the HTML.";
    before_loader_title: "Trackers vóór de loader", "Trackers before the loader";
    before_loader_help: "Deze draaien voordat de loader ze kan tegenhouden.", "These run before the loader can hold them back.";
    plain_tags_title: "Trackers buiten de blokkade", "Trackers outside the blocking";
    plain_tags_help: "Deze staan als gewone tag in de HTML: de browser haalt ze al op voordat een script iets kan doen, en stuurt zo het IP-adres en de pagina naar de leverancier. Schrijf ze in de declaratieve vorm, die de loader pas na toestemming vrijgeeft:", "These are plain tags in the HTML: the browser fetches them before any script can act, sending the visitor's IP address and the page to the vendor. Write them in the declarative form the loader releases only after consent:";
    seal_embed_help: "Plaats deze code op de site: de badge toont het oordeel en de leeftijd van de laatste scan en linkt naar deze pagina.", "Put this code on the site: the badge shows the latest scan's verdict and age and links to this page.";
    // People, passwords, a site's members and API keys, the audit trail.
    nav_people: "Mensen", "People";
    nav_password: "Wachtwoord", "Password";
    role_owner: "eigenaar", "owner";
    role_marketer: "marketeer", "marketer";
    role_viewer: "kijker", "viewer";
    people_title: "Mensen en accounts", "People and accounts";
    people_invite: "Iemand uitnodigen", "Invite someone";
    people_invite_button: "Account aanmaken", "Create the account";
    people_username_help: "Kleine letters, cijfers en . _ - @ (een e-mailadres mag), hoogstens 64 tekens.", "Lower-case letters, digits and . _ - @ (an e-mail address will do), at most 64 characters.";
    people_first_site: "Eerste site", "First site";
    people_no_first_site: "(nog geen)", "(none yet)";
    people_role: "Rol", "Role";
    people_role_none: "geen (van de site halen)", "none (remove from the site)";
    people_bad_name: "Geen geldige gebruikersnaam: kleine letters, cijfers en . _ - @, hoogstens 64 tekens.", "Not a valid user name: lower-case letters, digits and . _ - @, at most 64 characters.";
    people_bad_role: "Kies een rol: eigenaar, marketeer of kijker.", "Choose a role: owner, marketer or viewer.";
    people_no_site: "Die site bestaat niet.", "That site does not exist.";
    people_taken: "Er is al een account met deze naam.", "There is an account with this name already.";
    people_last_admin: "Dit is de laatste beheerder: maak eerst iemand anders beheerder.", "This is the last admin: make someone else an admin first.";
    people_not_yourself: "Dat kan niet voor uw eigen account.", "You cannot do that to your own account.";
    people_otp_title: "Eenmalig wachtwoord voor", "One-time password for";
    people_otp_help: "Dit wachtwoord wordt maar één keer getoond en nergens bewaard. Geef het door via een ander kanaal dan de gebruikersnaam; bij de eerste keer inloggen kiest de persoon een eigen wachtwoord.", "This password is shown this once and kept nowhere. Pass it on through another channel than the user name; at the first log-in the person chooses their own password.";
    people_sentence_label: "Om te kopiëren en door te geven", "To copy and pass on";
    people_sentence: "Log in op {url} als {user} met het eenmalige wachtwoord {password} en kies daarna uw eigen wachtwoord.", "Log in at {url} as {user} with the one-time password {password}, then choose your own password.";
    people_accounts: "Accounts", "Accounts";
    people_kind: "Soort", "Kind";
    people_admin: "beheerder", "admin";
    people_member: "lid", "member";
    people_all_sites: "alle sites", "every site";
    people_no_sites: "geen sites", "no sites";
    people_sites_roles: "Sites en rollen", "Sites and roles";
    people_created: "Aangemaakt (UTC)", "Created (UTC)";
    people_actions: "Acties", "Actions";
    people_you: "u", "you";
    people_must_change: "moet nog een eigen wachtwoord kiezen", "has yet to choose their own password";
    people_make_admin: "Beheerder maken", "Make admin";
    people_unmake_admin: "Geen beheerder meer", "Make member";
    people_reset: "Nieuw eenmalig wachtwoord", "New one-time password";
    people_delete: "Account verwijderen", "Delete account";
    pw_title: "Wachtwoord wijzigen", "Change password";
    pw_choose_own: "Uw wachtwoord is door iemand anders gekozen. Kies eerst een eigen wachtwoord.", "Your password was chosen by someone else. Choose your own password first.";
    pw_current: "Huidig wachtwoord", "Current password";
    pw_new: "Nieuw wachtwoord", "New password";
    pw_repeat: "Nieuw wachtwoord nogmaals", "New password again";
    pw_rules: "Minstens 15 tekens (een zin van een paar woorden werkt goed), niet uw gebruikersnaam; verder geen regels. Een wachtwoordmanager mag.", "At least 15 characters (a sentence of a few words works well), not your user name; no other rules. A password manager is welcome.";
    pw_button: "Wachtwoord opslaan", "Save the password";
    pw_too_short: "Het nieuwe wachtwoord is korter dan 15 tekens.", "The new password is shorter than 15 characters.";
    pw_too_long: "Het nieuwe wachtwoord is langer dan 1024 bytes.", "The new password is longer than 1024 bytes.";
    pw_mismatch: "De twee nieuwe wachtwoorden verschillen.", "The two new passwords differ.";
    pw_is_username: "Het wachtwoord mag niet uw gebruikersnaam zijn.", "The password cannot be your user name.";
    pw_wrong_current: "Het huidige wachtwoord klopt niet.", "The current password is wrong.";
    pw_changed: "Uw wachtwoord is gewijzigd.", "Your password has been changed.";
    members_title: "Leden", "Members";
    members_help: "Wie wat mag op deze site. Een eigenaar doet alles behalve accounts beheren; een marketeer scant en bewerkt het concept; een kijker leest. Marketeers en kijkers zien geen gegevens van bezoekers.", "Who may do what on this site. An owner does everything but managing accounts; a marketer scans and edits the draft; a viewer reads. Marketers and viewers see no visitor's data.";
    members_admins: "Beheerders (alle sites)", "Admins (every site)";
    members_add: "Iemand toevoegen", "Add someone";
    members_add_help: "De gebruikersnaam van een bestaand account. Iemand zonder account nodigt een beheerder uit.", "The user name of an existing account. Someone without an account is invited by an admin.";
    members_add_button: "Toevoegen", "Add";
    members_no_account: "Er is geen account met deze naam.", "There is no account with this name.";
    members_is_admin: "Dit account is beheerder en mag al alles op elke site.", "This account is an admin and may already do everything on every site.";
    members_already: "Dit account is al lid van de site; wijzig de rol in de lijst.", "This account is a member of the site already; change its role in the list.";
    keys_title: "API-sleutels", "API keys";
    keys_id: "Id", "Id";
    keys_name: "Naam", "Name";
    keys_scopes: "Rechten", "Scopes";
    keys_expires: "Verloopt (UTC)", "Expires (UTC)";
    keys_never: "nooit", "never";
    keys_expired: "verlopen", "expired";
    keys_last_used: "Laatst gebruikt (UTC)", "Last used (UTC)";
    keys_not_used: "nog niet", "not yet";
    keys_revoke: "Intrekken", "Revoke";
    keys_new: "Nieuwe sleutel", "New key";
    keys_create: "Sleutel aanmaken", "Create the key";
    keys_expires_days: "Verloopt na (dagen)", "Expires after (days)";
    keys_expires_help: "1 tot en met 3650; leeg: verloopt nooit.", "1 to 3650; empty: never expires.";
    keys_scope_decisions_read: "keuzes van bezoekers lezen en exporteren", "read and export visitors' decisions";
    keys_scope_config_write: "configuraties opslaan en origins wijzigen", "save configurations and change origins";
    keys_scope_scans_write: "scanrapporten uploaden (consent-scan --upload)", "upload scan reports (consent-scan --upload)";
    keys_scope_scans_read: "scanrapporten lezen", "read scan reports";
    keys_name_needed: "Geef de sleutel een naam.", "Give the key a name.";
    keys_scope_needed: "Kies minstens één recht.", "Choose at least one scope.";
    keys_bad_days: "Kies een aantal dagen van 1 tot en met 3650, of laat het leeg.", "Choose a number of days from 1 to 3650, or leave it empty.";
    keys_created: "Sleutel aangemaakt:", "Key created:";
    keys_shown_once: "Kopieer de sleutel nu: hij wordt maar één keer getoond en alleen als hash bewaard.", "Copy the key now: it is shown this once and kept only as a hash.";
    keys_the_key: "De sleutel", "The key";
    audit_title: "Logboek", "Audit trail";
    audit_help: "Wie wat deed op deze site, nieuwste eerst. Het logboek wordt alleen aangevuld: niets erin kan worden gewijzigd of verwijderd.", "Who did what on this site, newest first. The trail only grows: nothing in it can be changed or removed.";
    audit_actor: "Door", "By";
    audit_action: "Wat", "What";
    audit_newest: "Nieuwste", "Newest";
    audit_older: "Oudere", "Older";
    audit_site_created: "Site aangemaakt", "Site created";
    audit_origins_changed: "Toegestane origins gewijzigd", "Allowed origins changed";
    audit_draft_saved: "Concept opgeslagen", "Draft saved";
    audit_draft_discarded: "Concept weggegooid", "Draft discarded";
    audit_published: "Configuratie gepubliceerd", "Configuration published";
    audit_replacing: "in plaats van", "replacing";
    audit_reask: "bezoekers worden opnieuw gevraagd", "visitors are asked again";
    audit_no_reask: "eerdere keuzes blijven gelden", "earlier decisions stand";
    audit_restored: "Eerdere versie als concept teruggezet", "Earlier version restored as the draft";
    audit_register_updated: "Verwerkingsregister bijgewerkt", "Register of processing updated";
    audit_member_added: "Lid toegevoegd", "Member added";
    audit_member_changed: "Rol van lid gewijzigd", "Member's role changed";
    audit_member_removed: "Lid verwijderd", "Member removed";
    audit_key_created: "API-sleutel aangemaakt", "API key created";
    audit_key_revoked: "API-sleutel ingetrokken", "API key revoked";
    audit_request_opened: "Verzoek van bezoeker geregistreerd", "Visitor's request registered";
    audit_request_exported: "Gegevens voor verzoek geëxporteerd", "Records exported for a request";
    audit_request_erased: "Gegevens voor verzoek gewist", "Records erased for a request";
    audit_request_closed: "Verzoek van bezoeker afgesloten", "Visitor's request closed";
    login: "Inloggen", "Log in";
    logout: "Uitloggen", "Log out";
    username: "Gebruikersnaam", "Username";
    password: "Wachtwoord", "Password";
    wrong: "Onjuiste gebruikersnaam of wachtwoord.", "Wrong username or password.";
    limited: "Te veel pogingen; probeer het later opnieuw.", "Too many attempts; try again later.";
    unavailable: "De opslag is niet bereikbaar; probeer het opnieuw.", "Storage is unavailable; try again.";
    sites: "Sites", "Sites";
    site: "Site", "Site";
    version: "Huidige configuratieversie", "Current configuration version";
    origins: "Toegestane origins", "Allowed origins";
    decisions: "Recente keuzes", "Recent decisions";
    time: "Tijd (UTC)", "Time (UTC)";
    method: "Methode", "Method";
    categories: "Categorieën", "Categories";
    export: "Exporteren", "Export";
    scans: "Scans", "Scans";
    scanned: "Gescande URL", "Scanned URL";
    findings: "Bevindingen", "Findings";
    severity: "Ernst", "Severity";
    platform: "Platform", "Platform";
    evidence: "Bewijs", "Evidence";
    remedy: "Oplossing", "Remedy";
    none: "Nog niets.", "Nothing yet.";
    edit_config: "Configuratie bewerken", "Edit configuration";
    save: "Opslaan", "Save";
    field: "Fout in veld", "Error in field";
    declare: "Declareren:", "Declare it:";
    // The configuration editor (forms; every save is a draft).
    ed_intro: "Wat u hier wijzigt, wordt als concept bewaard: bezoekers zien het pas als het is gepubliceerd.", "What you change here is saved as a draft: visitors see it once it is published.";
    ed_saved: "Opgeslagen als concept, nog niet gepubliceerd.", "Saved as a draft, not yet published.";
    ed_draft_by: "Concept opgeslagen door", "Draft saved by";
    ed_draft_at: "om", "at";
    ed_draft_unpublished: "nog niet gepubliceerd.", "not yet published.";
    ed_draft_stale: "Sinds dit concept begon is er een andere versie gepubliceerd; publiceren vervangt die.", "Another version was published since this draft was started; publishing replaces it.";
    ed_publish: "Publiceren", "Publish";
    ed_discard: "Concept weggooien", "Discard draft";
    ed_published_shown: "Er is geen concept: dit is de gepubliceerde configuratie.", "There is no draft: this is the published configuration.";
    ed_back: "Terug naar de configuratie", "Back to the configuration";
    ed_categories: "Categorieën", "Categories";
    ed_services: "Diensten", "Services";
    ed_texts: "Teksten", "Texts";
    ed_texts_intro: "Leeg laten betekent de ingebouwde tekst (grijs getoond). {controller} in de introductie wordt de naam van de verwerkingsverantwoordelijke.", "Leave empty for the built-in text (shown in grey). {controller} in the intro becomes the controller's name.";
    ed_languages: "Talen", "Languages";
    ed_languages_intro: "De banner spreekt de taal van de browser van de bezoeker als de site die aanbiedt, anders de eerste taal.", "The banner speaks the language of the visitor's browser when the site offers it, else the first language.";
    ed_first_language: "Eerste taal (terugval)", "First language (fallback)";
    ed_first_language_hint: "Moet een van de aangevinkte talen zijn.", "Must be one of the ticked languages.";
    ed_one_language: "Kies ten minste één taal.", "Choose at least one language.";
    ed_first_not_offered: "Deze taal is niet aangevinkt.", "This language is not ticked.";
    ed_lang_nl: "Nederlands", "Dutch";
    ed_lang_en: "Engels", "English";
    ed_lang_de: "Duits", "German";
    ed_lang_fr: "Frans", "French";
    ed_overrides: "eigen teksten", "own texts";
    ed_change_languages: "Talen wijzigen", "Change languages";
    ed_behaviour: "Thema en gedrag", "Theme and behaviour";
    ed_change: "Wijzigen", "Change";
    ed_advanced: "Geavanceerd (JSON)", "Advanced (JSON)";
    ed_advanced_intro: "De hele configuratie als JSON (zie docs/configuration.md). Opslaan bewaart een concept.", "The whole configuration as JSON (see docs/configuration.md). Saving keeps a draft.";
    ed_save_draft: "Opslaan als concept", "Save as draft";
    ed_id: "Id", "Id";
    ed_id_hint: "Kleine letters, cijfers, - en _ (1 tot 64 tekens); keuzes verwijzen ernaar, dus later niet te wijzigen.", "Lowercase letters, digits, - and _ (1 to 64 characters); decisions refer to it, so it cannot be changed later.";
    ed_add: "Toevoegen", "Add";
    ed_edit: "Bewerken", "Edit";
    ed_remove: "Verwijderen", "Remove";
    ed_up: "Omhoog", "Up";
    ed_down: "Omlaag", "Down";
    ed_category: "Categorie", "Category";
    ed_add_category: "Categorie toevoegen", "Add a category";
    ed_remove_category: "Categorie verwijderen", "Remove category";
    ed_required: "Altijd aan (noodzakelijk)", "Always on (necessary)";
    ed_required_hint: "Bezoekers kunnen haar niet uitzetten; de categorie necessary moet dit hebben.", "Visitors cannot switch it off; the category necessary must have it.";
    ed_gpc_opt_out: "Uit bij Global Privacy Control", "Off under Global Privacy Control";
    ed_gpc_opt_out_hint: "Vooraf geweigerd als de browser GPC meestuurt (verkoop of delen van gegevens, dus marketing).", "Refused in advance when the browser sends GPC (sale or sharing of data, i.e. marketing).";
    ed_gpc_required: "Een categorie die altijd aan is, kan niet vooraf geweigerd worden.", "A category that is always on cannot be refused in advance.";
    ed_name: "Naam", "Name";
    ed_description: "Beschrijving", "Description";
    ed_necessary_stays: "De categorie necessary is verplicht en kan niet weg.", "The category necessary is required and cannot be removed.";
    ed_category_has_services: "In deze categorie staan diensten:", "This category has services:";
    ed_its_services: "Wat gebeurt er met deze diensten?", "What happens to these services?";
    ed_move_to: "Verplaatsen naar", "Move to";
    ed_remove_services: "Ook verwijderen", "Remove them too";
    ed_unknown_category: "Deze categorie bestaat niet op deze site.", "The site has no such category.";
    ed_duplicate_id: "Dit id is al in gebruik.", "This id is already in use.";
    ed_service: "Dienst", "Service";
    ed_add_service: "Dienst toevoegen", "Add a service";
    ed_from_catalogue: "Of kies diensten uit de catalogus", "Or choose services from the catalogue";
    ed_provider: "Aanbieder", "Provider";
    ed_provider_hint: "Het bedrijf dat de gegevens ontvangt.", "The company that receives the data.";
    ed_privacy_url: "Link naar de privacyverklaring", "Link to the privacy statement";
    ed_hosts: "Hosts om tegen te houden", "Hosts to hold back";
    ed_hosts_hint: "Eén per regel, kleine letters; *.voorbeeld.nl telt ook de subdomeinen.", "One per line, lowercase; *.example.com includes its subdomains.";
    ed_cookies_count: "cookies", "cookies";
    ed_cookie: "Cookie", "Cookie";
    ed_add_cookie: "Cookie toevoegen", "Add a cookie";
    ed_cookie_name: "Naam van het cookie", "Cookie name";
    ed_cookie_name_hint: "Zonder spaties, ; of =; * staat voor willekeurige tekens (_ga_*).", "No spaces, ; or =; * stands for any characters (_ga_*).";
    ed_cookie_domain: "Domein", "Domain";
    ed_cookie_domain_hint: "Alleen als het niet de eigen host van de site is.", "Only when it is not the site's own host.";
    ed_purpose: "Doel", "Purpose";
    ed_retention: "Bewaartermijn (zoals bezoekers hem lezen)", "Retention (as visitors read it)";
    ed_retention_hint: "Bijvoorbeeld: 13 maanden.", "For example: 13 months.";
    ed_retention_days: "Bewaartermijn in dagen", "Retention in days";
    ed_country: "Land van verwerking", "Country of processing";
    ed_country_hint: "ISO 3166-landcode van twee letters, zoals NL of US.", "Two-letter ISO 3166 country code, such as NL or US.";
    ed_legal_basis: "Grondslag (AVG art. 6 lid 1)", "Legal basis (GDPR art. 6(1))";
    ed_basis_consent: "Toestemming (a)", "Consent (a)";
    ed_basis_legitimate: "Gerechtvaardigd belang (f)", "Legitimate interest (f)";
    ed_basis_contract: "Overeenkomst (b)", "Contract (b)";
    ed_basis_legal: "Wettelijke plicht (c)", "Legal obligation (c)";
    ed_bad_domain: "Een domeinnaam in kleine letters, zoals voorbeeld.nl.", "A lowercase domain name, such as example.com.";
    ed_bad_country: "Twee letters, zoals NL.", "Two letters, such as NL.";
    ed_bad_choice: "Kies een van de mogelijkheden.", "Choose one of the options.";
    ed_needed: "Vul dit in.", "Fill this in.";
    ed_whole_number: "Een heel getal van", "A whole number from";
    ed_too_long: "Te lang: hoogstens", "Too long: at most";
    ed_controller: "Verwerkingsverantwoordelijke", "Controller";
    ed_controller_hint: "Wie het vraagt; leeg: de hostnaam van de pagina.", "Who asks; empty: the page's host name.";
    ed_expiry_days: "Geldigheid van een keuze (dagen)", "How long a decision lasts (days)";
    ed_expiry_days_hint: "1 tot 400; daarna vraagt de banner opnieuw.", "1 to 400; then the banner asks again.";
    ed_refusal_months: "Een weigering geldt (maanden)", "A refusal stands for (months)";
    ed_refusal_months_hint: "6 tot 13: zo lang vraagt de banner niet opnieuw om wat geweigerd is.", "6 to 13: the banner does not ask again for what was refused for this long.";
    ed_cookie_domain_site: "Domein van het keuzecookie", "Domain of the decision cookie";
    ed_cookie_domain_site_hint: "Om één keuze over subdomeinen te delen, bijvoorbeeld voorbeeld.nl; leeg: alleen de host van de pagina.", "To share one decision across subdomains, e.g. example.com; empty: the page's host only.";
    ed_wait: "Consent Mode wait_for_update (ms)", "Consent Mode wait_for_update (ms)";
    ed_wait_hint: "Zo lang wachten Google-tags op de keuze voordat ze versturen.", "How long Google tags wait for the decision before they send.";
    ed_setting: "Instelling", "Setting";
    ed_value: "Waarde", "Value";
    ed_none: "geen", "none";
    ed_picker: "kleurkiezer", "colour picker";
    ed_accent: "Kleur van de knoppen", "Button colour";
    ed_accent_text: "Tekstkleur van de knoppen", "Button text colour";
    ed_background: "Achtergrondkleur", "Background colour";
    ed_text_colour: "Tekstkleur", "Text colour";
    ed_colour_hint: "#rrggbb; leeg: de kleur van de widget (die ook de donkere modus van de bezoeker volgt). Tekst en achtergrond hebben een contrast van minstens 4,5:1 nodig.", "#rrggbb; empty: the widget's colour (which also follows the visitor's dark mode). Text and background need a contrast of at least 4.5:1.";
    ed_bad_colour: "Een kleur als #rrggbb, bijvoorbeeld #0b57d0.", "A colour as #rrggbb, for example #0b57d0.";
    ed_radius: "Afronding van de hoeken (pixels)", "Corner radius (pixels)";
    ed_radius_hint: "0 tot 32; leeg: 10.", "0 to 32; empty: 10.";
    ed_position: "Plaats van de banner", "Position of the banner";
    ed_pos_bottom: "Onderaan, in het midden", "Bottom, centred";
    ed_pos_top: "Bovenaan, in het midden", "Top, centred";
    ed_pos_bottom_left: "Linksonder", "Bottom left";
    ed_pos_bottom_right: "Rechtsonder", "Bottom right";
    scan_now: "Nu scannen", "Scan now";
    scan_now_help:
        "Een scanner-worker scant de eerste toegestane origin van deze site met de huidige configuratie.",
        "A scanner worker scans this site's first allowed origin against the current configuration.";
    scan_jobs: "Scanopdrachten", "Scan jobs";
    queue_off:
        "Geen scanwachtrij: deze server voert geen scans uit.",
        "Scan queue not configured: this server runs no scans.";
    queue_down: "De scanwachtrij is niet bereikbaar; probeer het opnieuw.", "The scan queue is unavailable; try again.";
    status: "Status", "Status";
    queued: "In de wachtrij", "Queued";
    running: "Bezig", "Running";
    done: "Klaar", "Done";
    failed: "Mislukt", "Failed";
    stage_static: "statische pass", "static pass";
    stage_browser: "browserpass", "browser pass";
    stage_storing: "rapport opslaan", "storing the report";
    pages_of: "pagina's", "pages";
    attempt: "poging", "attempt";
    schedule: "Geplande scans", "Scheduled scans";
    schedule_help:
        "De server scant deze site zelf, elke dag of elke week, en meldt wat nieuw is sinds de vorige scan.",
        "The server scans this site by itself, daily or weekly, and reports what is new since the previous scan.";
    every_off: "Uit", "Off";
    every_daily: "Dagelijks", "Daily";
    every_weekly: "Wekelijks", "Weekly";
    next_scan: "Volgende scan", "Next scan";
    new_findings: "Nieuwe bevindingen", "New findings";
    new_findings_help:
        "Een geplande scan vond wat de vorige scan niet had (platform, regel en toestemmingsstatus):",
        "A scheduled scan found what the previous scan did not (platform, rule and consent state):";
    dismiss: "Gezien", "Dismiss";
    not_found: "Niet gevonden.", "Not found.";
    forbidden: "Ontbrekend of onjuist CSRF-token.", "Missing or wrong CSRF token.";
    not_allowed: "Uw rol op deze site staat dit niet toe.", "Your role on this site does not allow this.";
    too_large: "Dit formulier is groter dan het dashboard aanneemt (64 KiB); er is niets opgeslagen.", "This form is larger than the dashboard accepts (64 KiB); nothing was saved.";
    bad_report: "Dit rapport kan niet gelezen worden.", "This report cannot be read.";
    // A scan's findings: verdict, triage, compare, CSV.
    verdict: "Oordeel", "Verdict";
    banner: "Toestemmingsbanner", "Consent banner";
    banner_found: "gevonden", "found";
    banner_partly: "alleen op sommige pagina's gevonden", "found on some pages only";
    banner_not_found: "geen toestemmingsbanner gevonden", "no consent banner found";
    banner_not_checked: "niet gecontroleerd (geen browserpass)", "not checked (no browser pass)";
    tracks_before: "Volgt vóór toestemming", "Tracks before consent";
    tracks_after_reject: "Volgt na “alles weigeren”", "Tracks after “reject all”";
    tracks_despite_gpc: "Volgt ondanks Global Privacy Control", "Tracks despite Global Privacy Control";
    personal_data_sent: "Persoonsgegevens verstuurd", "Personal data sent";
    not_declared: "Niet gedeclareerd", "Not declared";
    nothing_found: "niets gevonden", "nothing found";
    state_before: "Vóór toestemming", "Before consent";
    state_reject: "Na weigeren", "After reject";
    state_accept: "Na accepteren", "After accept";
    state_gpc: "Met GPC", "With GPC";
    pages_col: "Pagina's", "Pages";
    seen_col: "Keer gezien", "Times seen";
    triage: "Afhandeling", "Triage";
    findings_caption:
        "Eén rij per platform en probleem, met de toestemmingsstatussen waarin het is gezien",
        "One row per platform and problem, with the consent states it was seen in";
    example: "Voorbeeld", "Example";
    params_caption: "Parameters van het voorbeeldverzoek, gedecodeerd", "The example request's parameters, decoded";
    parameter: "Parameter", "Parameter";
    value: "Waarde", "Value";
    mark_fixed: "Markeer als opgelost", "Mark fixed";
    ignore: "Negeren", "Ignore";
    reason: "Reden", "Reason";
    reopen: "Heropenen", "Reopen";
    status_open: "Open", "Open";
    status_fixed: "Opgelost", "Fixed";
    status_ignored: "Genegeerd", "Ignored";
    fixed_but_found: "Als opgelost gemarkeerd, maar deze scan vond het weer.", "Marked fixed, but this scan found it again.";
    by: "door", "by";
    share: "Link naar deze bevinding (voor een ontwikkelaar)", "Link to this finding (for a developer)";
    findings_csv: "Bevindingen als CSV", "Findings as CSV";
    compare_previous: "Vergelijk met de vorige scan", "Compare with the previous scan";
    compare: "Scans vergeleken", "Scans compared";
    compare_help: "Per bevinding (op vingerafdruk): nieuw in deze scan, verdwenen sinds de eerdere, of onveranderd.", "By finding (by fingerprint): new in this scan, gone since the earlier one, or unchanged.";
    earlier_scan: "Eerdere scan", "Earlier scan";
    this_scan: "Deze scan", "This scan";
    new_since: "Nieuw", "New";
    gone: "Verdwenen", "Gone";
    unchanged: "Onveranderd", "Unchanged";
    reason_needed: "Geef een reden om deze bevinding te negeren (hoogstens 500 tekens).", "Give a reason to ignore this finding (at most 500 characters).";
    fingerprint: "Vingerafdruk", "Fingerprint";
    declare_help: "Voegt dit cookie toe aan het concept van de configuratie, om na te kijken en te publiceren.", "Adds this cookie to the draft configuration, to review and publish.";
    // Analytics.
    analytics: "Analyse", "Analytics";
    back_to_site: "Terug naar de site", "Back to the site";
    last_days: "Laatste dagen", "Last days";
    days: "dagen", "days";
    custom_period: "Eigen periode", "Custom period";
    from: "Van", "From";
    to: "Tot en met", "To";
    show: "Tonen", "Show";
    period: "Periode", "Period";
    total_decisions: "Keuzes", "Decisions";
    counts_note:
        "Tellingen per dag (UTC) en configuratieversie, bijgehouden bij elke vastgelegde keuze; ze noemen geen bezoeker en blijven na het wissen van een bezoeker.",
        "Counts per day (UTC) and configuration version, kept as each decision is recorded; they name no visitor and stay when a visitor is erased.";
    bad_days: "Kies een aantal dagen van 1 tot en met 366.", "Choose a number of days from 1 to 366.";
    bad_date: "Geen datum van de vorm JJJJ-MM-DD (YYYY-MM-DD).", "Not a date of the form YYYY-MM-DD.";
    reversed_period: "De periode eindigt voordat ze begint.", "The period ends before it starts.";
    long_period: "Een periode is ten hoogste 366 dagen.", "A period is at most 366 days.";
    download_csv: "CSV downloaden", "Download CSV";
    per_day: "Keuzes per dag", "Decisions per day";
    per_day_desc:
        "Gestapelde staven: per dag het aantal keuzes, verdeeld in alles accepteren, alles weigeren, eigen keuze en overig; de tabel ernaast geeft dezelfde getallen, van",
        "Stacked bars: each day's decisions, split into accept all, reject all, custom and other; the table beside it has the same numbers, from";
    methods: "Hoe bezoekers kozen", "How visitors decided";
    methods_desc: "Staven: het aandeel van elke keuzemethode in procenten; de tabel ernaast geeft dezelfde getallen.", "Bars: each method's share in percent; the table beside it has the same numbers.";
    grant_rate: "Toestemming per categorie", "Grant rate per category";
    grant_rate_desc: "Staven: per categorie het percentage keuzes dat haar toestond; de tabel ernaast geeft dezelfde getallen.", "Bars: per category, the percentage of decisions that granted it; the table beside it has the same numbers.";
    gpc_share: "Global Privacy Control", "Global Privacy Control";
    gpc_desc: "Staven: het aandeel keuzes waarbij de browser Global Privacy Control meestuurde; de tabel ernaast geeft dezelfde getallen.", "Bars: the share of decisions whose browser sent Global Privacy Control; the table beside it has the same numbers.";
    by_language: "Per taal", "By language";
    languages_desc: "Staven: het aandeel keuzes per taal van de banner; de tabel ernaast geeft dezelfde getallen.", "Bars: the share of decisions per banner language; the table beside it has the same numbers.";
    by_version: "Per configuratieversie", "By configuration version";
    versions_desc:
        "Gestapelde staven: per configuratieversie het aandeel alles accepteren, alles weigeren, eigen keuze en overig; de tabel ernaast geeft dezelfde getallen.",
        "Stacked bars: per configuration version, the shares of accept all, reject all, custom and other; the table beside it has the same numbers.";
    accept_all: "Alles accepteren", "Accept all";
    reject_all: "Alles weigeren", "Reject all";
    custom_choice: "Eigen keuze", "Custom";
    withdrawal: "Intrekking", "Withdrawal";
    gpc_applied: "Via GPC", "From GPC";
    other: "Overig", "Other";
    day: "Dag", "Day";
    decisions_n: "Keuzes", "Decisions";
    percent: "%", "%";
    category: "Categorie", "Category";
    granted: "Toegestaan", "Granted";
    signal: "Signaal", "Signal";
    gpc_sent: "GPC meegestuurd", "GPC sent";
    no_gpc: "Geen GPC", "No GPC";
    language: "Taal", "Language";
    config_version: "Configuratieversie", "Configuration version";
    first_day: "Eerste dag", "First day";
    last_day: "Laatste dag", "Last day";
    // Proof of a consent.
    proof: "Bewijs van toestemming", "Proof of consent";
    consent_id: "Consent-id", "Consent id";
    consent_id_help:
        "32 hexadecimale tekens, zoals de bezoeker ze ziet bij \"Download bewijs van mijn keuze\" of de API ze teruggeeft.",
        "32 hexadecimal characters, as the visitor sees them with \"Download proof of my choice\" or the API returns them.";
    look_up: "Opzoeken", "Look up";
    bad_consent_id: "Geen consent-id: dat zijn 32 hexadecimale tekens (0-9, a-f).", "Not a consent id: that is 32 hexadecimal characters (0-9, a-f).";
    no_such_consent: "Deze site heeft geen keuzes onder deze consent-id.", "This site has no decisions under this consent id.";
    decisions_of: "Keuzes van", "Decisions of";
    newest_shown: "de nieuwste 100", "the newest 100";
    download_bundle: "Bewijsbundel downloaden (JSON)", "Download the proof bundle (JSON)";
    refused: "Geweigerd", "Refused";
    services: "Diensten", "Services";
    leaf: "Logindex", "Log index";
    yes: "ja", "yes";
    no: "nee", "no";
    // Visitors' requests (GDPR art. 15 access, art. 17 erasure).
    requests: "Verzoeken van bezoekers", "Visitors' requests";
    request: "Verzoek", "Request";
    requests_intro:
        "Een bezoeker kan vragen welke gegevens u over hem bewaart (inzage, AVG art. 15) of ze laten wissen (AVG art. 17). U moet binnen een maand na ontvangst antwoorden (art. 12 lid 3); die termijn mag u één keer met twee maanden verlengen, als u de bezoeker binnen de eerste maand laat weten waarom. De bezoeker vindt zijn consent-id in de cookie-instellingen van de site (\"Download bewijs van mijn keuze\").",
        "A visitor may ask which data you keep about them (access, GDPR art. 15) or have it erased (GDPR art. 17). You must answer within one month of receipt (art. 12(3)); you may extend that once by two months if you tell the visitor why within the first month. The visitor finds their consent id in the site's cookie settings (\"Download proof of my choice\").";
    requests_summary: "Verzoeken van bezoekers", "Visitors' requests";
    requests_open_count: "open", "open";
    requests_overdue_count: "te laat", "overdue";
    request_register: "Verzoek registreren", "Register a request";
    request_kind: "Soort verzoek", "Kind of request";
    request_access: "Inzage (art. 15)", "Access (art. 15)";
    request_erasure: "Wissen (art. 17)", "Erasure (art. 17)";
    request_received: "Ontvangen op", "Received on";
    request_received_help:
        "De dag waarop het verzoek binnenkwam (bijvoorbeeld per post); leeg is vandaag. Niet in de toekomst, hooguit een jaar terug.",
        "The day the request arrived (by post, say); empty means today. Not in the future, at most a year back.";
    request_consent_help:
        "De consent-id die de bezoeker opgeeft: 32 tekens 0-9 en a-f.",
        "The consent id the visitor gives: 32 characters 0-9 and a-f.";
    request_note: "Notitie", "Note";
    request_note_help:
        "Voor wie het verzoek afhandelt, hooguit 500 tekens. Noteer hier geen naam, e-mailadres of andere persoonsgegevens van de aanvrager: de consent-id is genoeg.",
        "For whoever handles the request, at most 500 characters. Do not enter the requester's name, e-mail address or other personal data here: the consent id is enough.";
    request_register_button: "Registreren", "Register";
    request_fix: "Het verzoek is niet geregistreerd; verbeter de gemarkeerde velden.", "The request was not registered; correct the marked fields.";
    request_bad_kind: "Kies inzage of wissen.", "Choose access or erasure.";
    request_bad_date: "Geen datum van de vorm JJJJ-MM-DD.", "Not a date of the form YYYY-MM-DD.";
    request_future: "De ontvangstdatum kan niet in de toekomst liggen.", "The date of receipt cannot be in the future.";
    request_too_old: "De ontvangstdatum ligt meer dan een jaar terug.", "The date of receipt is more than a year ago.";
    request_bad_note: "Hooguit 500 tekens tekst.", "At most 500 characters of text.";
    request_bad_reason: "Geef een reden van hooguit 500 tekens.", "Give a reason of at most 500 characters.";
    request_closed_already: "Dit verzoek is al afgesloten.", "This request is closed already.";
    request_extended_already: "De termijn is al verlengd.", "The deadline was extended already.";
    request_too_late: "Verlengen kan alleen binnen een maand na ontvangst.", "An extension can only be made within one month of receipt.";
    request_bad_outcome: "Kies een uitkomst.", "Choose an outcome.";
    request_not_erasure: "Alleen een verzoek tot wissen wist gegevens.", "Only an erasure request erases data.";
    requests_open: "Open verzoeken", "Open requests";
    requests_closed: "Afgesloten verzoeken", "Closed requests";
    requests_none: "Geen.", "None.";
    requests_closed_newest: "de nieuwste 100", "the newest 100";
    request_deadline: "Uiterste datum", "Deadline";
    request_status: "Status", "Status";
    request_days_left: "dagen over", "days left";
    request_one_day_left: "1 dag over", "1 day left";
    request_due_today: "Vandaag de laatste dag", "Due today";
    request_overdue_by: "Te laat, met", "Overdue by";
    request_days: "dagen", "days";
    request_day: "dag", "day";
    request_closed: "Afgesloten", "Closed";
    request_extended_until: "Verlengd (art. 12 lid 3); reden", "Extended (art. 12(3)); reason";
    request_first_deadline: "Zonder verlenging", "Without extension";
    request_deadline_rule:
        "Een maand na ontvangst: dezelfde datum in de volgende maand, of de laatste dag van die maand als die datum niet bestaat (Verordening 1182/71 art. 3 lid 2 onder c). Valt die dag in het weekend of op een feestdag, dan schuift de termijn naar de volgende werkdag (art. 3 lid 4); hier staat de vroegste datum.",
        "One month after receipt: the same date in the next month, or that month's last day when the date does not exist there (Regulation 1182/71 art. 3(2)(c)). When that day is a weekend day or a public holiday the period ends on the next working day (art. 3(4)); shown here is the earliest date.";
    request_visitor_data: "Gegevens van deze bezoeker", "This visitor's data";
    request_unknown_visitor: "Deze site kent deze consent-id niet: er zijn geen gegevens over deze bezoeker.", "This site does not know this consent id: there is no data about this visitor.";
    request_decision_count: "Keuzes vastgelegd", "Decisions recorded";
    request_first_last: "Eerste en laatste", "First and last";
    request_personal_present: "Persoonlijke velden (paginapad, browser) zijn versleuteld opgeslagen en staan ontsleuteld in de export.", "Personal fields (page path, browser) are stored sealed and are decrypted in the export.";
    request_personal_erased: "De persoonlijke velden van deze bezoeker zijn gewist: de sleutel is vernietigd. De keuzes blijven als bewijs in het log, zonder die velden, en elk bewijs blijft geldig.", "This visitor's personal fields were erased: the key is destroyed. The decisions stay in the log as proofs, without those fields, and every proof stays valid.";
    request_export: "Exporteren", "Export";
    request_export_help: "Alle keuzes van de bezoeker met tijd, categorieën, diensten, methode, GPC en configuratieversie, en wat verder over hem is opgeslagen.", "Every decision of the visitor with time, categories, services, method, GPC and configuration version, and whatever else is stored about them.";
    request_erase: "Wissen", "Erase";
    request_erase_help: "Vernietigt de sleutel van de persoonlijke velden van deze bezoeker (crypto-shredding): niemand kan ze nog lezen, de bewijzen blijven geldig en deze consent-id kan geen nieuwe keuzes meer vastleggen. Dit kan niet ongedaan worden gemaakt.", "Destroys the key of this visitor's personal fields (crypto-shredding): nobody can read them again, the proofs stay valid and this consent id cannot record new decisions. This cannot be undone.";
    request_erase_confirm: "Wissen bevestigen", "Confirm erasure";
    request_erase_sure: "Weet u het zeker? Wissen kan niet ongedaan worden gemaakt.", "Are you sure? Erasure cannot be undone.";
    request_erase_yes: "Ja, definitief wissen", "Yes, erase for good";
    request_cancel: "Annuleren", "Cancel";
    request_erased_now: "Gewist: de sleutel is vernietigd.", "Erased: the key is destroyed.";
    request_erased_before: "Er was geen sleutel meer te vernietigen: deze bezoeker was al gewist of is onbekend.", "There was no key left to destroy: this visitor was erased before or is unknown.";
    request_extend: "Termijn verlengen met twee maanden", "Extend the deadline by two months";
    request_extend_reason: "Reden (laat die de bezoeker binnen de eerste maand weten)", "Reason (tell the visitor within the first month)";
    request_extend_button: "Verlengen", "Extend";
    request_close: "Afsluiten", "Close";
    request_outcome: "Uitkomst", "Outcome";
    request_answered: "Beantwoord", "Answered";
    request_erased: "Gewist", "Erased";
    request_refused: "Geweigerd (met reden)", "Refused (with reason)";
    request_no_data: "Geen gegevens gevonden", "No data found";
    request_refusal_reason: "Reden van weigering (verplicht bij weigeren; vermeld dat de bezoeker een klacht kan indienen bij de toezichthouder, art. 12 lid 4)", "Reason for refusal (required when refusing; mention that the visitor may complain to a supervisory authority, art. 12(4))";
    request_close_button: "Afsluiten", "Close";
    request_log: "Verloop", "Steps";
    step_opened: "Geregistreerd", "Registered";
    step_exported: "Geëxporteerd", "Exported";
    step_erased: "Gewist", "Erased";
    step_erased_before: "Wissen gevraagd (was al gewist)", "Erasure asked (already erased)";
    step_extended: "Verlengd", "Extended";
    step_closed: "Afgesloten", "Closed";
    request_by: "door", "by";
    request_all_requests: "Alle verzoeken", "All requests";
    audit_request_extended: "Termijn van verzoek verlengd", "Deadline of a request extended";
    request_incomplete: "Deze geschiedenis is langer dan 10.000 keuzes; de export bevat de oudste 10.000.", "This history is longer than 10,000 decisions; the export holds the oldest 10,000.";
    what_it_proves: "Wat dit bewijst", "What this proves";
    proves_1:
        "Elke keuze staat als record in een openbaar, alleen-aanvullend transparantielog (een Merkle-boom zoals bij Certificate Transparency, RFC 9162). De bewijsbundel bevat het record en een inclusiebewijs naar een door het log ondertekend controlepunt.",
        "Every decision is a record in a public, append-only transparency log (a Merkle tree as in Certificate Transparency, RFC 9162). The proof bundle holds the record and an inclusion proof up to a checkpoint the log signed.";
    proves_2:
        "Wie de bundel en de verificatiesleutel van het log heeft, kan zonder ons en zonder netwerk nagaan dat precies deze keuze (categorieën, diensten, methode, GPC, configuratieversie, tijd) in het log staat op deze plaats.",
        "Anyone holding the bundle and the log's verifier key can check, without us and offline, that exactly this decision (categories, services, method, GPC, configuration version, time) is in the log at this place.";
    proves_3:
        "Omdat het log alleen aangevuld wordt en elk controlepunt ondertekend is, kan niemand, ook de beheerder niet, een vastgelegde keuze later stilletjes wijzigen of verwijderen zonder dat een controle dat ziet.",
        "Because the log only grows and every checkpoint is signed, nobody, the operator included, can later quietly change or remove a recorded decision without a check noticing.";
    proves_not:
        "Het bewijst niet wie de bezoeker is: persoonlijke velden zijn versleuteld per bezoeker en na wissen onleesbaar, terwijl het bewijs geldig blijft. En het bewijst niet dat de website zich daarna aan de keuze hield; dat controleert de scanner.",
        "It does not prove who the visitor is: personal fields are sealed per visitor and unreadable once erased, while the proof stays valid. Nor does it prove the website honoured the choice afterwards; the scanner checks that.";
    the_log: "Het log", "The log";
    log_size: "Keuzes in het laatste controlepunt", "Decisions in the latest checkpoint";
    verifier_key: "Verificatiesleutel", "Verifier key";
    latest_checkpoint: "Laatste controlepunt", "Latest checkpoint";
    verify_with: "Controleer een gedownloade bundel met:", "Check a downloaded bundle with:";
    verify_exit:
        "Het commando meldt valid en eindigt met 0 als elk bewijs klopt, en met 1 (en de reden) als er één niet klopt.",
        "The command prints valid and exits 0 when every proof holds, and 1 (with the reason) when one does not.";
    no_checkpoint: "Het log heeft nog geen controlepunt gepubliceerd.", "The log has not published a checkpoint yet.";
}

impl Texts {
    /// A scan job's status (`queued`, `running`, `done`, `failed`) in words.
    pub fn job_status(&self, status: &str) -> &'static str {
        match status {
            "queued" => self.queued,
            "running" => self.running,
            "done" => self.done,
            "failed" => self.failed,
            _ => "?",
        }
    }

    /// A schedule's choice (`off`, `daily`, `weekly`) in words.
    pub fn every(&self, every: &str) -> &'static str {
        match every {
            "daily" => self.every_daily,
            "weekly" => self.every_weekly,
            _ => self.every_off,
        }
    }

    /// A running scan's stage (`static_pass`, `browser_pass`, `storing`) in
    /// words; empty for the others, which the status already says.
    pub fn job_stage(&self, stage: &str) -> &'static str {
        match stage {
            "static_pass" => self.stage_static,
            "browser_pass" => self.stage_browser,
            "storing" => self.stage_storing,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn dutch_unless_english_comes_first() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_headers(&h), Lang::Nl);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.9,nl;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE,nl;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::Nl);
    }

    #[test]
    fn job_statuses_in_words() {
        assert_eq!(Lang::En.texts().job_status("queued"), "Queued");
        assert_eq!(Lang::Nl.texts().job_status("done"), "Klaar");
        assert_eq!(Lang::En.texts().job_status("exploded"), "?");
    }
}
