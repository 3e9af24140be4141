/**
 * MQTT topic filters (MQTT 3.1.1 section 4.7): `+` stands for one level, `#` as the
 * last level for that level and all below it (`a/#` matches `a` too). A filter that
 * starts with a wildcard does not match a topic that starts with `$` (4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True when `filter` matches `topic` with a `+` standing for an empty level
 * (`heru/sensors/+` and `heru/sensors/`).
 */
export function matchesEmptyLevel(filter: string, topic: string): boolean {
  if (!topicMatches(filter, topic)) return false;
  const t = topic.split('/');
  return filter.split('/').some((level, i) => level === '+' && t[i] === '');
}
