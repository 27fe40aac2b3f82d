// Every occurrence of every VEVENT in the given .ics files, as ical.js (Thunderbird's parser)
// computes it: {"<uid>": [unix seconds, ...]} on stdout. Time zones come only from the files'
// own VTIMEZONE components — ical.js has no zone data of its own, so a VTIMEZONE that does not
// cover an occurrence shows up here as a wrong instant.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const LIMIT = 5000; // no alliance has more; a runaway rule must not hang the test
const out = {};
for (const file of process.argv.slice(2)) {
  const root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtimezone);
  }
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    const times = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && times.length < LIMIT; next = iterator.next()) {
      times.push(next.toUnixTime());
    }
    out[event.uid] = times;
  }
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(vtimezone.getFirstPropertyValue("tzid"));
  }
}
process.stdout.write(JSON.stringify(out));
