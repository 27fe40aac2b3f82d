// The RFC 7986 properties (and LOCATION/URL) of every VEVENT in the given .ics files, as
// ical.js reads them: {"<uid>": {"conference": [{"value", "params"}], "color", "location",
// "url"}} on stdout.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const out = {};
for (const file of process.argv.slice(2)) {
  const root = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const conference = vevent.getAllProperties("conference").map((p) => {
      const params = {};
      for (const name of ["value", "feature", "label"]) {
        const value = p.getParameter(name);
        if (value !== undefined && value !== null) params[name] = value;
      }
      return { value: p.getFirstValue(), type: p.type, params };
    });
    out[vevent.getFirstPropertyValue("uid")] = {
      conference,
      color: vevent.getFirstPropertyValue("color"),
      location: vevent.getFirstPropertyValue("location"),
      url: vevent.getFirstPropertyValue("url"),
    };
  }
}
process.stdout.write(JSON.stringify(out));
