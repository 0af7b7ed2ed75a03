// Puppeteer (a dependency of @themarkup/blacklight-collector, for the scanner's
// bench) uses the system's Chromium, the one scripts/setup installs, and never
// downloads a browser of its own (on install or later).
// Configuration file format: https://pptr.dev/guides/configuration
module.exports = {
  skipDownload: true,
  executablePath: '/usr/bin/chromium',
};
