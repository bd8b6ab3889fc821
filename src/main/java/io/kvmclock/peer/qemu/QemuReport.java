package io.kvmclock.peer.qemu;

import io.kvmclock.demo.ErrorChart;
import io.kvmclock.demo.Summary;
import io.kvmclock.files.AtomicFiles;
import io.kvmclock.peer.qemu.PeerQemuResult.ScenarioResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The real-QEMU report: a table per scenario beside the re-implementation, and the demo's strip charts. */
public final class QemuReport {
    private QemuReport() {}

    /** A page of its own: index.html in {@code dir}. */
    public static Path write(Path dir, PeerQemuResult r) throws IOException {
        String body = section(dir, r);
        Path index = dir.resolve("index.html");
        AtomicFiles.write(index, "<!doctype html><html><head><meta charset='utf-8'><title>kvmclock: real QEMU</title>"
                + "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
                + "</style></head><body>\n" + body + "</body></html>\n");
        return index;
    }

    /**
     * The HTML fragment (a heading, the table, two charts) for a page in {@code dir}; writes the charts'
     * SVG files there. The demo's page embeds it next to its re-implementations.
     */
    public static String section(Path dir, PeerQemuResult r) throws IOException {
        List<ErrorChart.Row> kvm = new ArrayList<>();
        List<ErrorChart.Row> host = new ArrayList<>();
        for (ScenarioResult s : r.scenarios()) {
            kvm.add(new ErrorChart.Row(s.scenario().label() + " QEMU", Observation.column(s.qemu(), Observation::kvmclockErrorNs), true));
            kvm.add(new ErrorChart.Row(s.scenario().label() + " qemu method", Observation.column(s.reimplementation(), Observation::kvmclockErrorNs), true));
            host.add(new ErrorChart.Row(s.scenario().label() + " QEMU", Observation.column(s.qemu(), Observation::hostTimeErrorNs), true));
            host.add(new ErrorChart.Row(s.scenario().label() + " qemu method", Observation.column(s.reimplementation(), Observation::hostTimeErrorNs), true));
        }
        AtomicFiles.write(dir.resolve("qemu-kvmclock-error.svg"),
                ErrorChart.svg("real QEMU vs the qemu method: kvmclock after minus before at the same guest TSC", "ns", kvm));
        AtomicFiles.write(dir.resolve("qemu-host-time-error.svg"),
                ErrorChart.svg("real QEMU vs the qemu method: guest kvmclock minus host time across the pause", "ns", host));
        StringBuilder h = new StringBuilder();
        h.append(String.format(Locale.ROOT, "<h2>Real QEMU %s beside the <code>qemu</code> method</h2>%n<p>%s, the project's"
                        + " clock firmware under KVM, guest TSC %d kHz, pause %d ms; the <code>qemu</code> method on the project's"
                        + " own VMM (%s) with the same blackouts, trial by trial. TSC and host time errors are against host time"
                        + " elapsed: 0 = kept running, minus the pause = frozen.</p>%n",
                ErrorChart.esc(r.qemuVersion()), ErrorChart.esc(r.qemuPath()), r.tscKhz(), r.pauseNs() / 1_000_000,
                ErrorChart.esc(r.reimplementationBackend())));
        h.append("<table><tr><th>scenario</th><th>who</th><th>policy (kvmclock / TSC)</th><th>|kvmclock error| ns<br>median / p99 / max</th>")
                .append("<th>TSC error cycles<br>median / p99 / max</th><th>host time error ns<br>median / p99 / max</th>")
                .append("<th>pause &micro;s<br>median / p99 / max</th><th>QEMU downtime ms</th><th>stepped back</th><th>verdict</th></tr>\n");
        for (ScenarioResult s : r.scenarios()) {
            Verdict v = s.verdict();
            row(h, s.scenario().label(), "QEMU " + r.qemuVersion(), v.qemuKvmclock().label() + " / " + v.qemuTsc().label(), s.qemu(),
                    downtime(s.qemu()), v.agrees() ? "agrees" : "differs: " + String.join("; ", v.differences()));
            row(h, "", "qemu method", v.reimplKvmclock().label() + " / " + v.reimplTsc().label(), s.reimplementation(), "", "");
        }
        h.append("</table>\n<p>Verdict: ").append(ErrorChart.esc(Verdict.RULE)).append(" (docs/qemu-peer.md).</p>\n");
        h.append("<img src='qemu-kvmclock-error.svg' alt='kvmclock error, real QEMU and the qemu method'>\n");
        h.append("<img src='qemu-host-time-error.svg' alt='host time error, real QEMU and the qemu method'>\n");
        return h.toString();
    }

    private static void row(StringBuilder h, String scenario, String who, String policy, List<Observation> os, String downtime,
                            String verdict) {
        h.append("<tr><td>").append(ErrorChart.esc(scenario)).append("</td><td>").append(ErrorChart.esc(who)).append("</td><td>")
                .append(policy).append("</td>")
                .append(cell(Summary.ofAbsolute(Observation.column(os, Observation::kvmclockErrorNs))))
                .append(cell(Summary.of(Observation.column(os, Observation::tscErrorCycles))))
                .append(cell(Summary.of(Observation.column(os, Observation::hostTimeErrorNs))))
                .append(cell(Summary.of(Observation.column(os, Observation::pauseMicros))))
                .append("<td>").append(downtime).append("</td><td>").append(os.stream().filter(Observation::steppedBackwards).count())
                .append("</td><td>").append(ErrorChart.esc(verdict)).append("</td></tr>\n");
    }

    private static String downtime(List<Observation> os) {
        long[] d = Observation.downtimes(os);
        if (d.length == 0) {
            return "none reported";
        }
        Summary s = Summary.of(d);
        return String.format(Locale.ROOT, "%d / %d / %d", s.median(), s.p99(), s.max());
    }

    private static String cell(Summary s) {
        return String.format(Locale.ROOT, "<td>%d / %d / %d</td>", s.median(), s.p99(), s.max());
    }

}
