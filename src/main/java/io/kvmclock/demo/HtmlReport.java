package io.kvmclock.demo;

import io.kvmclock.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The demo's report: index.html with a table per metric and an SVG chart of each method's error distribution. */
public final class HtmlReport {
    private HtmlReport() {}

    public static final String INDEX = "index.html";
    private static final String KVMCLOCK_SVG = "kvmclock-error.svg";
    private static final String HOST_SVG = "host-time-error.svg";
    /** Every file the report folder holds; the folder is replaced as a whole. */
    public static final Set<String> FILES = Set.of(INDEX, KVMCLOCK_SVG, HOST_SVG);

    /** Writes the report folder as a unit (AtomicFiles.writeFolder): all new files, or the old folder as it was. */
    public static Path write(Path dir, DemoResult r) throws IOException {
        return write(dir, r, "", Map.of());
    }

    /**
     * The page with {@code extraHtml} (a section others render, e.g. the real-QEMU rows) after the methods'
     * table, and {@code extraFiles} (its charts) in the same folder, written with it as one unit.
     */
    public static Path write(Path dir, DemoResult r, String extraHtml, Map<String, byte[]> extraFiles) throws IOException {
        List<ErrorChart.Row> kvm = new ArrayList<>();
        List<ErrorChart.Row> host = new ArrayList<>();
        for (MethodResult m : r.methods()) {
            switch (m) {
                case MethodResult.Ran ran -> {
                    kvm.add(new ErrorChart.Row(m.name(), ran.kvmclockErrors(), true));
                    host.add(new ErrorChart.Row(m.name(), ran.hostTimeErrors(), true));
                }
                case MethodResult.NotRun n -> {
                    kvm.add(new ErrorChart.Row(m.name(), new long[0], false));
                    host.add(new ErrorChart.Row(m.name(), new long[0], false));
                }
            }
        }
        String kvmSvg = ErrorChart.svg("kvmclock error: restored minus saved pvclock at the same guest TSC", "ns", kvm);
        String hostSvg = ErrorChart.svg("guest kvmclock minus host reference time after resume", "ns", host);

        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset='utf-8'><title>kvmclock demo</title>")
                .append("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}")
                .append(".na{color:#999}</style></head><body>\n");
        h.append("<h1>Guest time across a live update, every method side by side</h1>\n");
        h.append(String.format(Locale.ROOT, "<p>Backend <b>%s</b>; host %s, tsc_khz %d, clocksource %s; %d trials per method;"
                        + " blackout %d &micro;s beyond the restore itself.</p>%n",
                r.backend(), ErrorChart.esc(r.host().kernel()), r.host().tscKhz(), ErrorChart.esc(r.host().clocksource()),
                r.trials(), r.downtimeNs() / 1000));
        h.append("<table><tr><th>method</th><th>policy (kvmclock / TSC)</th><th>|kvmclock error| ns<br>median / p99 / max</th>")
                .append("<th>TSC error cycles<br>median / p99 / max</th><th>host time error ns<br>median / p99 / max</th>")
                .append("<th>restore &micro;s<br>median / p99 / max</th><th>stepped back</th><th>failed</th></tr>\n");
        for (MethodResult result : r.methods()) {
            h.append("<tr><td>").append(result.name()).append("</td>");
            switch (result) {
                case MethodResult.NotRun n -> h.append("<td colspan='7' class='na'>").append(ErrorChart.esc(n.why()))
                        .append("</td></tr>\n");
                case MethodResult.Ran m -> h.append("<td>").append(m.method().kvmclockPolicy().label()).append(" / ")
                        .append(m.method().tscPolicy().label()).append("</td>")
                        .append(cell(Summary.ofAbsolute(m.kvmclockErrors()))).append(cell(Summary.of(m.tscErrors())))
                        .append(cell(Summary.of(m.hostTimeErrors()))).append(cell(Summary.of(m.restoreMicros())))
                        .append("<td>").append(m.backwards()).append("</td><td>").append(m.failures()).append("</td></tr>\n");
            }
        }
        h.append("</table>\n");
        notes(h, r);
        h.append(extraHtml);
        h.append("<h2>kvmclock consistency</h2><p>Restored pvclock minus saved pvclock at the first guest TSC after resume:"
                + " 0 means the guest's kvmclock is still the same arithmetic function of its TSC.</p>\n")
                .append("<img src='kvmclock-error.svg' alt='kvmclock error per method'>\n");
        h.append("<h2>Guest clock against host time</h2><p>Freeze methods lag by the blackout; advance methods should not.</p>\n")
                .append("<img src='host-time-error.svg' alt='host time error per method'>\n");
        h.append("<h2>Methods</h2><ul>\n");
        for (MethodResult m : r.methods()) {
            h.append("<li><b>").append(m.name()).append("</b>: ").append(ErrorChart.esc(m.method().summary())).append("</li>\n");
        }
        h.append("</ul></body></html>\n");
        Map<String, byte[]> files = new LinkedHashMap<>(extraFiles);
        files.put(KVMCLOCK_SVG, kvmSvg.getBytes(StandardCharsets.UTF_8));
        files.put(HOST_SVG, hostSvg.getBytes(StandardCharsets.UTF_8));
        files.put(INDEX, h.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.writeFolder(dir, files);
        return dir.resolve(INDEX);
    }

    /**
     * What each method said it did, as the text and JSON say it: its fallbacks, budget hits and KVM_SET_CLOCK
     * rounds where it iterates, its failures' reasons, and its most frequent notes with how many trials made each.
     * Nothing for a method that had nothing to say.
     */
    private static void notes(StringBuilder h, DemoResult r) {
        StringBuilder all = new StringBuilder();
        for (MethodResult result : r.methods()) {
            if (!(result instanceof MethodResult.Ran m)) {
                continue; // its reason is in the table
            }
            int n = m.trials().size();
            List<String> items = new ArrayList<>();
            if (m.method().contract().iterates()) {
                Summary rounds = Summary.of(m.rounds());
                items.add(String.format(Locale.ROOT, "KVM_SET_CLOCK rounds: median %d, p99 %d, max %d", rounds.median(),
                        rounds.p99(), rounds.max()));
            }
            if (m.fallbacks() > 0) {
                items.add(String.format(Locale.ROOT, "fell back in %d/%d trials", m.fallbacks(), n));
            }
            if (m.budgetHits() > 0) {
                items.add(String.format(Locale.ROOT, "stopped at its time budget in %d/%d trials", m.budgetHits(), n));
            }
            m.failureReasons().stream().limit(MethodResult.Ran.REASONS_SHOWN).forEach(why -> items.add("failed: " + ErrorChart.esc(why)));
            var notes = m.notesByCount();
            for (var e : notes.subList(0, Math.min(MethodResult.Ran.NOTES_SHOWN, notes.size()))) {
                items.add(String.format(Locale.ROOT, "note (%d/%d trials): %s", e.getValue(), n, ErrorChart.esc(e.getKey())));
            }
            if (notes.size() > MethodResult.Ran.NOTES_SHOWN) {
                items.add(String.format(Locale.ROOT, "... %d more distinct notes (the JSON lists them all)",
                        notes.size() - MethodResult.Ran.NOTES_SHOWN));
            }
            if (items.isEmpty()) {
                continue;
            }
            all.append("<h3>").append(m.name()).append("</h3><ul class='notes'>\n");
            items.forEach(i -> all.append("<li>").append(i).append("</li>\n"));
            all.append("</ul>\n");
        }
        if (!all.isEmpty()) {
            h.append("<h2>What the methods noted</h2>\n").append(all);
        }
    }

    private static String cell(Summary s) {
        return String.format(Locale.ROOT, "<td>%d / %d / %d</td>", s.median(), s.p99(), s.max());
    }
}
