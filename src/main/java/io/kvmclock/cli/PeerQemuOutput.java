package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.demo.Summary;
import io.kvmclock.peer.qemu.Observation;
import io.kvmclock.peer.qemu.PeerQemuResult;
import io.kvmclock.peer.qemu.PeerQemuResult.ScenarioResult;
import io.kvmclock.peer.qemu.Reimplementation;
import io.kvmclock.peer.qemu.Verdict;
import java.io.PrintWriter;
import java.util.List;

/** The text table and the JSON of a real-QEMU run, for `peer qemu` and for the demo's real-QEMU rows. */
final class PeerQemuOutput {
    private PeerQemuOutput() {}

    /** The demo's real-QEMU rows: measured, or why not. */
    sealed interface Rows {
        record Ran(PeerQemuResult result) implements Rows {}

        record NotRun(String why) implements Rows {}
    }

    static ObjectNode toJson(Rows rows) {
        return switch (rows) {
            case Rows.Ran r -> toJson(r.result());
            case Rows.NotRun n -> Json.object().put("notRun", n.why());
        };
    }

    static void printText(PrintWriter out, Rows rows) {
        switch (rows) {
            case Rows.Ran r -> printText(out, r.result());
            case Rows.NotRun n -> out.printf("real QEMU: not run: %s%n%n", n.why());
        }
        out.flush();
    }

    static String html(java.nio.file.Path dir, Rows rows) throws java.io.IOException {
        return switch (rows) {
            case Rows.Ran r -> io.kvmclock.peer.qemu.QemuReport.section(dir, r.result());
            case Rows.NotRun n -> "<h2>Real QEMU</h2><p class='na'>not run: " + io.kvmclock.demo.ErrorChart.esc(n.why()) + "</p>\n";
        };
    }

    static ObjectNode toJson(PeerQemuResult r) {
        ObjectNode root = Json.object();
        root.putObject("qemu").put("version", r.qemuVersion()).put("path", r.qemuPath());
        root.put("pauseNs", r.pauseNs());
        root.put("guestTscKhz", r.tscKhz());
        root.put("reimplementationBackend", r.reimplementationBackend());
        root.put("rule", Verdict.RULE);
        ArrayNode ss = root.putArray("scenarios");
        for (ScenarioResult s : r.scenarios()) {
            ObjectNode j = ss.addObject();
            j.put("name", s.scenario().label());
            figures(j, s.qemu());
            summaryOrNull(j.putObject("qemuDowntimeMs"), s.qemu());
            ObjectNode re = j.putObject("reimplementation");
            re.put("method", Reimplementation.METHOD.name());
            figures(re, s.reimplementation());
            Verdict v = s.verdict();
            j.put("reimplementationAgrees", v.agrees());
            ObjectNode vj = j.putObject("verdict");
            vj.put("qemuKvmclockPolicy", v.qemuKvmclock().label()).put("qemuTscPolicy", v.qemuTsc().label())
                    .put("reimplementationKvmclockPolicy", v.reimplKvmclock().label())
                    .put("reimplementationTscPolicy", v.reimplTsc().label())
                    .put("qemuResidualKvmclockErrorNs", v.qemuResidualNs())
                    .put("reimplementationResidualKvmclockErrorNs", v.reimplResidualNs());
            ArrayNode d = vj.putArray("differences");
            v.differences().forEach(d::add);
        }
        return root;
    }

    private static void figures(ObjectNode j, List<Observation> os) {
        j.put("trials", os.size());
        DemoCommand.summary(j.putObject("kvmclockErrorNs"), Summary.ofAbsolute(Observation.column(os, Observation::kvmclockErrorNs)));
        DemoCommand.summary(j.putObject("tscErrorCycles"), Summary.of(Observation.column(os, Observation::tscErrorCycles)));
        DemoCommand.summary(j.putObject("hostTimeErrorNs"), Summary.of(Observation.column(os, Observation::hostTimeErrorNs)));
        DemoCommand.summary(j.putObject("pauseMicros"), Summary.of(Observation.column(os, Observation::pauseMicros)));
        j.put("steppedBackwards", os.stream().filter(Observation::steppedBackwards).count());
    }

    /** QEMU reports a downtime for migrations only: nulls for stop-cont. */
    private static void summaryOrNull(ObjectNode n, List<Observation> os) {
        long[] d = Observation.downtimes(os);
        if (d.length == 0) {
            n.putNull("median").putNull("p99").putNull("max");
        } else {
            DemoCommand.summary(n, Summary.of(d));
        }
    }


    static void printText(PrintWriter out, PeerQemuResult r) {
        out.printf("real QEMU %s (%s), guest TSC %,d kHz, pause %d ms; beside it the project's `qemu` method on %s%n",
                r.qemuVersion(), r.qemuPath(), r.tscKhz(), r.pauseNs() / 1_000_000, r.reimplementationBackend());
        out.printf("TSC and host time errors: against host time elapsed (0 = kept running, minus the pause = frozen)%n");
        out.printf("verdict rule: %s%n%n", Verdict.RULE);
        for (ScenarioResult s : r.scenarios()) {
            Verdict v = s.verdict();
            out.printf("%s  %d trials   QEMU: kvmclock %s, TSC %s   qemu method: kvmclock %s, TSC %s   %s%n",
                    s.scenario().label(), s.qemu().size(), v.qemuKvmclock().label(), v.qemuTsc().label(),
                    v.reimplKvmclock().label(), v.reimplTsc().label(), v.agrees() ? "AGREES" : "DIFFERS");
            out.printf("  %-24s %12s %12s %12s   %12s %12s %12s%n", "", "QEMU median", "p99", "max", "qemu method", "p99", "max");
            row(out, "|kvmclock error| (ns)", Summary.ofAbsolute(Observation.column(s.qemu(), Observation::kvmclockErrorNs)),
                    Summary.ofAbsolute(Observation.column(s.reimplementation(), Observation::kvmclockErrorNs)));
            row(out, "TSC error (cycles)", Summary.of(Observation.column(s.qemu(), Observation::tscErrorCycles)),
                    Summary.of(Observation.column(s.reimplementation(), Observation::tscErrorCycles)));
            row(out, "host time error (ns)", Summary.of(Observation.column(s.qemu(), Observation::hostTimeErrorNs)),
                    Summary.of(Observation.column(s.reimplementation(), Observation::hostTimeErrorNs)));
            row(out, "pause (us)", Summary.of(Observation.column(s.qemu(), Observation::pauseMicros)),
                    Summary.of(Observation.column(s.reimplementation(), Observation::pauseMicros)));
            long[] dt = Observation.downtimes(s.qemu());
            if (dt.length > 0) {
                Summary d = Summary.of(dt);
                out.printf("  %-24s %,12d %,12d %,12d%n", "QEMU downtime (ms)", d.median(), d.p99(), d.max());
            }
            out.printf("  residual kvmclock error: QEMU %,d ns, qemu method %,d ns   stepped backwards: %d/%d, %d/%d%n",
                    v.qemuResidualNs(), v.reimplResidualNs(), backwards(s.qemu()), s.qemu().size(),
                    backwards(s.reimplementation()), s.reimplementation().size());
            for (String d : v.differences()) {
                out.printf("  differs: %s%n", d);
            }
            out.println();
        }
        out.flush();
    }

    private static long backwards(List<Observation> os) {
        return os.stream().filter(Observation::steppedBackwards).count();
    }

    private static void row(PrintWriter out, String label, Summary q, Summary m) {
        out.printf("  %-24s %,12d %,12d %,12d   %,12d %,12d %,12d%n", label, q.median(), q.p99(), q.max(), m.median(), m.p99(), m.max());
    }
}
