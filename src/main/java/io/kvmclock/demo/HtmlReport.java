package io.kvmclock.demo;

import io.kvmclock.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.List;
import java.util.Locale;

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
        return write(dir, r, "");
    }

    /** The page with {@code extraHtml} (a section others render, e.g. the real-QEMU rows) after the methods' table. */
    public static Path write(Path dir, DemoResult r, String extraHtml) throws IOException {
        List<ErrorChart.Row> kvm = new ArrayList<>();
        List<ErrorChart.Row> host = new ArrayList<>();
        for (MethodResult m : r.methods()) {
            kvm.add(new ErrorChart.Row(m.name(), m.kvmclockErrors(), m.supported()));
            host.add(new ErrorChart.Row(m.name(), m.hostTimeErrors(), m.supported()));
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
        for (MethodResult m : r.methods()) {
            if (!m.supported()) {
                h.append("<tr><td>").append(m.name()).append("</td><td colspan='7' class='na'>")
                        .append(ErrorChart.esc(m.unsupported())).append("</td></tr>\n");
                continue;
            }
            h.append("<tr><td>").append(m.name()).append("</td><td>").append(m.kvmclockPolicy().label()).append(" / ")
                    .append(m.tscPolicy().label()).append("</td>")
                    .append(cell(Summary.ofAbsolute(m.kvmclockErrors()))).append(cell(Summary.of(m.tscErrors())))
                    .append(cell(Summary.of(m.hostTimeErrors()))).append(cell(Summary.of(m.restoreMicros())))
                    .append("<td>").append(m.backwards()).append("</td><td>").append(m.failures()).append("</td></tr>\n");
        }
        h.append("</table>\n");
        h.append(extraHtml);
        h.append("<h2>kvmclock consistency</h2><p>Restored pvclock minus saved pvclock at the first guest TSC after resume:"
                + " 0 means the guest's kvmclock is still the same arithmetic function of its TSC.</p>\n")
                .append("<img src='kvmclock-error.svg' alt='kvmclock error per method'>\n");
        h.append("<h2>Guest clock against host time</h2><p>Freeze methods lag by the blackout; advance methods should not.</p>\n")
                .append("<img src='host-time-error.svg' alt='host time error per method'>\n");
        h.append("<h2>Methods</h2><ul>\n");
        for (MethodResult m : r.methods()) {
            h.append("<li><b>").append(m.name()).append("</b>: ").append(ErrorChart.esc(m.summary())).append("</li>\n");
        }
        h.append("</ul></body></html>\n");
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(KVMCLOCK_SVG, kvmSvg.getBytes(StandardCharsets.UTF_8));
        files.put(HOST_SVG, hostSvg.getBytes(StandardCharsets.UTF_8));
        files.put(INDEX, h.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.writeFolder(dir, files);
        return dir.resolve(INDEX);
    }

    private static String cell(Summary s) {
        return String.format(Locale.ROOT, "<td>%d / %d / %d</td>", s.median(), s.p99(), s.max());
    }
}
