// The baseline's configuration: the same categories and roughly the same
// texts as the Keurmerk demo (vanilla-cookieconsent ships no translations).
CookieConsent.run({
  // Its default hides the banner from automated browsers (navigator.webdriver),
  // which is what the benchmark's headless Chromium is.
  hideFromBots: false,
  categories: { necessary: { enabled: true, readOnly: true }, preferences: {}, analytics: {}, marketing: {} },
  language: {
    default: "en",
    translations: {
      en: {
        consentModal: {
          title: "Cookies and tracking on this site",
          description: "Demo Shop B.V. would like to use cookies and similar techniques. Necessary ones keep the site working and are always on. Others only with your permission.",
          acceptAllBtn: "Accept all",
          acceptNecessaryBtn: "Reject all",
          showPreferencesBtn: "Preferences"
        },
        preferencesModal: {
          title: "Cookie preferences",
          acceptAllBtn: "Accept all",
          acceptNecessaryBtn: "Reject all",
          savePreferencesBtn: "Save choices",
          closeIconLabel: "Close",
          sections: [
            { title: "Necessary", description: "Needed for the site to work.", linkedCategory: "necessary" },
            { title: "Preferences", description: "Remember settings such as your language.", linkedCategory: "preferences" },
            { title: "Analytics", description: "Count visits to learn how the site is used.", linkedCategory: "analytics" },
            { title: "Marketing", description: "Show and measure advertising, also on other sites.", linkedCategory: "marketing" }
          ]
        }
      }
    }
  }
});
