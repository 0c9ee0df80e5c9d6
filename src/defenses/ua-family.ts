/**
 * Browser + OS of a User-Agent without versions ("Chrome/Windows"), so a session survives browser
 * auto-updates but not a switch to another browser or OS. A deliberately small table: the session
 * guard needs a stable family, not a device catalogue, and an unknown agent maps to its product
 * token (e.g. "curl") or "other".
 */
const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];
const OSES: ReadonlyArray<[RegExp, string]> = [
  [/\bWindows\b/, 'Windows'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

export function uaFamily(ua: string | undefined): string {
  if (!ua) return 'none';
  const text = ua.length > 512 ? ua.slice(0, 512) : ua;
  const browser = BROWSERS.find(([re]) => re.test(text))?.[1];
  const os = OSES.find(([re]) => re.test(text))?.[1];
  if (browser || os) return `${browser ?? 'other'}/${os ?? 'other'}`;
  const product = /^([A-Za-z][A-Za-z0-9._-]{0,31})\//.exec(text)?.[1];
  return product ?? 'other';
}
