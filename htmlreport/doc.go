// Package htmlreport renders an orchard report as one self-contained HTML
// page an administrator can forward: what was analysed and how healthy the
// capture was, the verdict for every section of Apple's article, each
// finding with its evidence, advice and the catalog row it was judged
// against, a timeline per device as inline SVG, and what to ask the network
// team as text that pastes into a ticket.
//
// The page needs no network access: no external fonts, scripts or images;
// a Content-Security-Policy forbids them, and it is readable without
// JavaScript. Every string from the capture is escaped by html/template.
//
// The input is the report orchard builds for --format json
// (analyzer.Report), as made in this process or read back from a JSON
// file: Build works on the report's JSON form, so both give the same page.
// Any command that has a report renders through Render (or Build, then
// Page.Write): orchard fleet can merge its sensors' reports into one (the
// sensors' captures as Files, every device and finding) and render that.
// Fields added to the report's findings or capture information later are
// shown generically, by their JSON names, until the page learns to present
// them.
//
// It renders reports and must never import the other outputs (ecs,
// eventjson, fleet, kafkaout, internal/sensor) or the commands.
package htmlreport
