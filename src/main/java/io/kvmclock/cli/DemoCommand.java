package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.demo.DemoResult;
import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.GuestClockSeen;
import io.kvmclock.demo.HtmlReport;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.PhaseStats;
import io.kvmclock.demo.Summary;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.QemuReport;
import io.kvmclock.peer.qemu.Scenario;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "The main job: live-update a guest with every restore method and compare what it saw.",
            "",
            "Runs the clock guest, live-updates it N times with each restore method into a fresh VM,",
            "and shows what the guest saw, every method side by side.",
            "",
            "Per method: (a) |kvmclock error|: restored minus saved pvclock at the same guest TSC (0 = the kvmclock",
            "is still the same function of the TSC); (b) TSC error in cycles against the method's downtime policy;",
            "(c) guest kvmclock minus host reference time after resume; (d) restore wall time. Median, p99, max.",
            "",
            "Methods: qemu, firecracker, firecracker-realtime, cloud-hypervisor (what those VMMs do today),",
            "documented (KVM's documented TSC-offset algorithm, 2021 text), documented-v6 (the v6 series' rewrite:",
            "KVM_VCPU_TSC_SCALE, KVM_SET_CLOCK_GUEST, else KVM_SET_CLOCK(REALTIME), saying so), clock-guest",
            "(KVM_SET_CLOCK_GUEST, where the kernel has it), precise (ours: +-1 ns without CLOCK_GUEST).",
            "Each method's notes (why it fell back, what it could not do as written) follow its numbers.",
            "",
            "On real KVM with qemu-system-x86_64 installed, real QEMU's stop/cont, live migration",
            "and snapshot restore follow, measured inside its guest beside the qemu method (peer qemu)."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock demo",
            "  kvmclock demo --trials 200 --methods precise,documented,qemu --report /tmp/demo",
            "  kvmclock demo --backend sim --json",
            "  kvmclock demo --no-qemu --methods precise,qemu",
            "  kvmclock demo --backend sim --sim-host clockguest --methods clock-guest,precise",
            "  kvmclock demo --backend sim --sim-host v6 --methods documented-v6,clock-guest,precise",
            "  kvmclock demo --backend sim --sim-host clockguest --sim-peer-khz 2995200 --trials 20"
        })
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--trials", defaultValue = "20", paramLabel = "N", description = "Live updates per method (default ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--methods", split = ",", paramLabel = "M[,M...]", description = "Methods to run (default: all).")
    List<String> methods;

    @Mixin
    RestoreOptions restore;

    @Option(names = "--downtime", defaultValue = "0ms", paramLabel = "D",
            description = "Extra blackout between pause and restore, e.g. 50ms, 2s (default ${DEFAULT-VALUE}).")
    String downtime;

    @Option(names = "--backend", defaultValue = "auto", paramLabel = "B",
            description = "kvm, sim, or auto: kvm where /dev/kvm can be opened, else sim (default ${DEFAULT-VALUE}).")
    Backends.Choice backend;

    @Option(names = "--sim-host", defaultValue = "this", paramLabel = "H", converter = Backends.SimHostConverter.class,
            description = "Model host for the sim backend (default ${DEFAULT-VALUE}): this (this host, probed and calibrated "
                    + "now; a typical kvm_intel host where /dev/kvm is missing), pvm-intel-2026-11 (the recorded 2.1 GHz Intel "
                    + "kvm_pvm host: TSC writes ignored), kvm-intel (TSC writes honoured), kvm-amd (TSC writes honoured, SVM "
                    + "scaling), clockguest (kvm_intel with VMX TSC scaling and KVM_[GS]ET_CLOCK_GUEST), "
                    + "v6 (clockguest with the v6 series: KVM_VCPU_TSC_SCALE, v6 CLOCK_GUEST checks, master clock with "
                    + "per-vCPU offsets).")
    Backends.SimHost simHost;

    @Option(names = "--sim-peer-khz", paramLabel = "KHZ", converter = FrequencyConverter.class,
            description = "Sim backend only: migrate between the --sim-host and a second model host like it with this tsc_khz "
                    + "(e.g. 2995200 or 2.9952GHz), alternating each trial, instead of live-updating on one host.")
    Long simPeerKhz;

    @Option(names = "--seed", defaultValue = "1", description = "Seed for the sim backend (default ${DEFAULT-VALUE}).")
    long seed;


    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--no-qemu", description = "Skip the real-QEMU rows (run where qemu-system-x86_64 is found and the backend is kvm).")
    boolean noQemu;

    @Option(names = "--qemu", paramLabel = "PATH", description = "QEMU for the real-QEMU rows (default: qemu-system-x86_64 on PATH).")
    Path qemu;

    @Option(names = "--qemu-trials", defaultValue = "10", paramLabel = "N",
            description = "Trials per real-QEMU scenario (default ${DEFAULT-VALUE}, about 30 s here; `kvmclock peer qemu` for more).")
    int qemuTrials;

    @Option(names = "--report", paramLabel = "DIR", description = "Write an HTML page with charts of each method's errors to DIR.")
    Path report;

    @Spec
    CommandSpec spec;

    /** The longest extra blackout --downtime takes: the real backend sleeps it in every trial. */
    static final long MAX_DOWNTIME_NS = 3_600 * Inputs.NS_PER_S;

    @Override
    public Integer call() {
        if (trials < 1 || trials > 100_000) {
            throw UserError.badInput("--trials " + trials + " is out of range: 1 to 100000");
        }
        if (qemuTrials < 1 || qemuTrials > 10_000) {
            throw UserError.badInput("--qemu-trials " + qemuTrials + " is out of range: 1 to 10000");
        }
        long downtimeNs = Inputs.durationNs("--downtime", downtime, MAX_DOWNTIME_NS);
        if (simPeerKhz != null && simPeerKhz * 1000 > SimHostConfig.MAX_TSC_HZ) {
            throw UserError.badInput("--sim-peer-khz " + simPeerKhz + " is beyond the model's "
                    + SimHostConfig.MAX_TSC_HZ / 1_000_000_000L + " GHz: give at most " + SimHostConfig.MAX_TSC_HZ / 1000 + " kHz");
        }
        if (report != null) {
            Inputs.outputFolder("--report", report, REPORT_FILES);
        }
        List<RestoreMethod> chosen = new ArrayList<>();
        for (String name : methods == null ? RestoreMethods.names() : methods) {
            chosen.add(restore.method(name));
        }
        PrintWriter err = spec.commandLine().getErr();
        Backends.Opened opened = Backends.open(backend, seed, simHost);
        opened.note().ifPresent(note -> err.println("kvmclock: " + note));
        DemoResult result;
        PeerQemuOutput.Rows qemuRows;
        try (Hypervisor hv = opened.hypervisor()) {
            boolean tty = System.console() != null;
            DemoRunner.Progress progress = (m, i, n) -> {
                if (tty) {
                    err.printf("\r%-22s trial %5d/%d", m, i, n);
                    err.flush();
                } else if (i == n) {
                    err.printf("demo: %s: %d trials%n", m, n);
                }
            };
            DemoRunner runner = new DemoRunner(hv, trials, downtimeNs, progress);
            if (simPeerKhz != null) {
                if (!(hv instanceof SimHypervisor sim)) {
                    throw UserError.badInput("--sim-peer-khz needs the sim backend: add --backend sim");
                }
                runner.withPeer(sim.peer(sim.simHost().config().withName("peer-" + simPeerKhz)
                        .withTsc(simPeerKhz, simPeerKhz * 1000).withTscAtStart(7_000_000_000_000L)
                        .withRealtimeAtStart(sim.simHost().realtimeNs())));
            }
            result = runner.run(chosen);
            if (tty) {
                err.print("\r" + " ".repeat(40) + "\r");
                err.flush();
            }
            qemuRows = realQemu(hv, opened.realKvm(), err);
        }
        Path index = null;
        IOException unwritten = null;
        if (report != null) {
            try {
                QemuReport.Section q = PeerQemuOutput.html(qemuRows);
                index = HtmlReport.write(report, result, q.html(), q.files());
            } catch (IOException e) {
                unwritten = e; // print what was measured first: a long run is never thrown away
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = toJson(result, index);
            root.set("realQemu", PeerQemuOutput.toJson(qemuRows));
            out.println(Json.write(root));
        } else {
            printText(out, result);
            PeerQemuOutput.printText(out, qemuRows);
            if (index != null) {
                out.println("report: " + index);
            }
        }
        out.flush();
        if (unwritten != null) {
            throw Inputs.unwritten("report", report, unwritten, " (the folder was left as it was)");
        }
        return exitCode(result.methods());
    }

    /** Only a method that promises its bound fails the demo by failing a trial; the others' failures are results. */
    static int exitCode(List<MethodResult> methods) {
        boolean broken = methods.stream().anyMatch(m -> m instanceof MethodResult.Ran r && r.failures() > 0
                && r.method().contract().promisesBound());
        return broken ? ExitCode.FAILURE : ExitCode.OK;
    }

    /** The demo's report folder: its own files and the real-QEMU charts. */
    static final Set<String> REPORT_FILES = union(HtmlReport.FILES, QemuReport.CHARTS);

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new HashSet<>(a);
        u.addAll(b);
        return Set.copyOf(u);
    }

    /** Real QEMU beside the re-implementations, where it can run; a QEMU failure costs only these rows. */
    private PeerQemuOutput.Rows realQemu(Hypervisor hv, boolean realKvm, PrintWriter err) {
        if (noQemu) {
            return new PeerQemuOutput.Rows.NotRun("--no-qemu");
        }
        if (!realKvm) {
            return new PeerQemuOutput.Rows.NotRun("the " + hv.backend() + " backend: real QEMU needs real KVM");
        }
        if (qemu == null && QemuProcess.findOnPath().isEmpty()) {
            return new PeerQemuOutput.Rows.NotRun(QemuProcess.BINARY + " is not on PATH (apt-get install qemu-system-x86)");
        }
        try {
            return new PeerQemuOutput.Rows.Ran(PeerQemuCommand.runQemu(PeerQemuCommand.options(qemu),
                    List.of(Scenario.values()), qemuTrials, PeerQemuCommand.DEFAULT_PAUSE, hv, err));
        } catch (UserError e) {
            err.println("kvmclock: real QEMU: " + e.getMessage());
            return new PeerQemuOutput.Rows.NotRun("failed: " + e.getMessage());
        }
    }

    static ObjectNode toJson(DemoResult r, Path index) {
        ObjectNode root = Json.object();
        root.put("backend", r.backend());
        root.put("trials", r.trials());
        root.put("downtimeNs", r.downtimeNs());
        root.putObject("host").put("kernel", r.host().kernel()).put("tscKhz", r.host().tscKhz())
                .put("clocksource", r.host().clocksource());
        GuestClockSeen g = r.guestClock();
        root.putObject("guestClock").put("pvclockMul", g.scale().mul()).put("pvclockShift", g.scale().shift())
                .put("pvclockFlags", g.pvclockFlags()).put("getClockFlagsBeforeRun", g.clockFlagsBeforeRun())
                .put("getClockFlagsAfterRun", g.clockFlagsAfterRun());
        ArrayNode ms = root.putArray("methods");
        for (MethodResult result : r.methods()) {
            ObjectNode j = ms.addObject();
            j.put("name", result.name());
            j.put("supported", result instanceof MethodResult.Ran);
            switch (result) {
                case MethodResult.NotRun n -> j.put("unsupportedReason", n.why());
                case MethodResult.Ran m -> ranJson(j, m);
            }
        }
        if (index != null) {
            root.put("report", index.toString());
        }
        return root;
    }

    private static void ranJson(ObjectNode j, MethodResult.Ran m) {
        j.put("kvmclockPolicy", m.method().kvmclockPolicy().label());
        j.put("tscPolicy", m.method().tscPolicy().label());
        summary(j.putObject("kvmclockErrorNs"), Summary.ofAbsolute(m.kvmclockErrors()));
        summary(j.putObject("tscErrorCycles"), Summary.of(m.tscErrors()));
        summary(j.putObject("hostTimeErrorNs"), Summary.of(m.hostTimeErrors()));
        j.put("tscScaledTrials", m.scaledTrials());
        summary(j.putObject("restoreMicros"), Summary.of(m.restoreMicros()));
        summary(j.putObject("rounds"), Summary.of(m.rounds()));
        j.put("withinOneNs", m.shareWithin(1));
        j.put("steppedBackwards", m.backwards());
        j.put("failures", m.failures());
        j.put("fallbacks", m.fallbacks());
        j.put("budgetHits", m.budgetHits());
        ArrayNode why = j.putArray("failureReasons");
        m.failureReasons().stream().limit(MethodResult.Ran.REASONS_SHOWN).forEach(why::add);
        ObjectNode b = j.putObject("breakdown");
        summary(b.putObject("prepareNs"), Summary.of(m.prepareNs()));
        phases(b.putArray("prepared"), m.preparedPhases());
        phases(b.putArray("restore"), m.restorePhases());
        ArrayNode notes = j.putArray("notes");
        m.notes().forEach((note, n) -> notes.addObject().put("note", note).put("trials", n));
    }

    private static void phases(ArrayNode into, List<PhaseStats> phases) {
        for (PhaseStats p : phases) {
            ObjectNode n = into.addObject().put("name", p.name());
            summary(n.putObject("calls"), p.calls());
            summary(n.putObject("wallNs"), p.wallNs());
            summary(n.putObject("kernelNs"), p.kernelNs());
        }
    }

    static void summary(ObjectNode n, Summary s) {
        n.put("median", s.median()).put("p99", s.p99()).put("max", s.max());
    }

    private static void printText(PrintWriter out, DemoResult r) {
        out.printf("backend %s, %s, tsc_khz %d, clocksource %s; %d live updates per method%s%n", r.backend(),
                r.host().kernel(), r.host().tscKhz(), r.host().clocksource(), r.trials(),
                r.downtimeNs() > 0 ? String.format(", %d us extra blackout", r.downtimeNs() / 1000) : "");
        GuestClockSeen g = r.guestClock();
        out.printf("guest pvclock mul %d shift %d flags 0x%x; KVM_GET_CLOCK flags 0x%x before the first KVM_RUN, 0x%x after%n%n",
                g.scale().mul(), g.scale().shift(), g.pvclockFlags(), g.clockFlagsBeforeRun(), g.clockFlagsAfterRun());
        for (MethodResult result : r.methods()) {
            out.printf("%s  %s%n", result.name(), result.method().summary());
            switch (result) {
                case MethodResult.NotRun n -> out.printf("  not run: %s%n%n", n.why());
                case MethodResult.Ran m -> printRan(out, m);
            }
        }
        out.flush();
    }

    private static void printRan(PrintWriter out, MethodResult.Ran m) {
        out.printf("  policy: kvmclock %s, TSC %s%s%n", m.method().kvmclockPolicy().label(), m.method().tscPolicy().label(),
                m.scaledTrials() > 0 ? String.format("; guest TSC scaled in %d trial(s)", m.scaledTrials()) : "");
        if (m.ok().isEmpty()) {
            // no trial reached the guest: a table of zeros would read as a perfect restore
            out.printf("  no trial measured: all %d failed%n", m.trials().size());
            printNotes(out, m);
            out.println();
            return;
        }
        out.printf("  %-26s %12s %12s %12s%n", "", "median", "p99", "max");
        row(out, "|kvmclock error| (ns)", Summary.ofAbsolute(m.kvmclockErrors()));
        row(out, "TSC error (cycles)", Summary.of(m.tscErrors()));
        row(out, "host time error (ns)", Summary.of(m.hostTimeErrors()));
        row(out, "restore (us)", Summary.of(m.restoreMicros()));
        if (m.method().contract().iterates()) {
            row(out, "SET_CLOCK rounds", Summary.of(m.rounds()));
        }
        if (m.method().preparesBeforeBlackout()) {
            row(out, "before blackout (us)", micros(Summary.of(m.prepareNs())));
        }
        if (m.method().contract().iterates()) {
            StringBuilder b = new StringBuilder();
            for (PhaseStats p : m.restorePhases()) {
                b.append(String.format("%s%s %,d ns (kernel %,d)", b.isEmpty() ? "" : ", ", p.name(),
                        p.wallNs().median(), p.kernelNs().median()));
            }
            out.printf("  restore, median per phase: %s%n", b);
        }
        out.printf("  within 1 ns: %.1f %%   stepped backwards: %d/%d   failed: %d%s%s%n", 100 * m.shareWithin(1),
                m.backwards(), m.trials().size(), m.failures(),
                m.fallbacks() > 0 ? "   FELL BACK: " + m.fallbacks() : "",
                m.budgetHits() > 0 ? "   budget hit: " + m.budgetHits() : "");
        printNotes(out, m);
        out.println();
    }

    private static Summary micros(Summary ns) {
        return new Summary(ns.median() / 1000, ns.p99() / 1000, ns.max() / 1000, ns.count());
    }

    /**
     * Why trials failed (each distinct reason, as the JSON and the report give them), then the method's own notes
     * (why it fell back, what it could not do as written), most frequent first.
     */
    private static void printNotes(PrintWriter out, MethodResult.Ran m) {
        List<String> why = m.failureReasons();
        why.stream().limit(MethodResult.Ran.REASONS_SHOWN).forEach(r -> out.printf("  failed: %s%n", Inputs.printable(r)));
        if (why.size() > MethodResult.Ran.REASONS_SHOWN) {
            out.printf("  ... %d more distinct failure reasons (--json lists them)%n", why.size() - MethodResult.Ran.REASONS_SHOWN);
        }
        var notes = m.notesByCount();
        for (var e : notes.subList(0, Math.min(MethodResult.Ran.NOTES_SHOWN, notes.size()))) {
            out.printf("  note (%d/%d trials): %s%n", e.getValue(), m.trials().size(), e.getKey());
        }
        if (notes.size() > MethodResult.Ran.NOTES_SHOWN) {
            out.printf("  ... %d more distinct notes (--json lists them all)%n", notes.size() - MethodResult.Ran.NOTES_SHOWN);
        }
    }

    private static void row(PrintWriter out, String label, Summary s) {
        out.printf("  %-26s %,12d %,12d %,12d%n", label, s.median(), s.p99(), s.max());
    }
}
