package io.kvmclock.cli;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.peer.qemu.PeerQemu;
import io.kvmclock.peer.qemu.PeerQemuResult;
import io.kvmclock.peer.qemu.QemuException;
import io.kvmclock.peer.qemu.QemuProcess;
import io.kvmclock.peer.qemu.QemuReport;
import io.kvmclock.peer.qemu.Scenario;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "qemu",
        mixinStandardHelpOptions = true,
        description = {
            "Real QEMU's stop/cont, live migration and snapshot restore, as its guest saw them.",
            "",
            "Boots the project's clock firmware in qemu-system-x86_64 under KVM. The firmware",
            "enables kvmclock and records every pause it sees (the last guest TSC + pvclock",
            "before it and the first after); QEMU is driven over QMP and the samples are read",
            "from QEMU's memory. Scenarios:",
            "  stop-cont  QMP stop, the pause, cont;",
            "  migrate    live migration to a second QEMU (-incoming, a unix socket);",
            "  snapshot   migrate to a file (exec:cat > F), end the source, the pause,",
            "             a new QEMU loads the file.",
            "Per trial: the kvmclock error (the function after minus before, at the same",
            "guest TSC); the TSC and the kvmclock against host time elapsed (0 = kept",
            "running, minus the pause = frozen); the pause the host saw (QEMU's STOP to",
            "RESUME events); QEMU's reported downtime; backward steps.",
            "",
            "Beside each scenario the project's `qemu` restore method runs on the project's",
            "own VMM with the same pauses, and a verdict says whether it behaves as real",
            "QEMU did (the rule is printed with the results; docs/qemu-peer.md)."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock peer qemu",
            "  kvmclock peer qemu --scenarios stop-cont,snapshot --pause 250ms --trials 50",
            "  kvmclock peer qemu --qemu /usr/local/bin/qemu-system-x86_64 --json",
            "  kvmclock peer qemu --report /tmp/qemu-peer",
            "",
            "Needs qemu-system-x86_64 (Debian: apt-get install --no-install-recommends",
            "qemu-system-x86), /dev/kvm, and access to QEMU's memory (/proc/PID/mem: root,",
            "or ptrace allowed). Exit 3 when one is missing, 1 when QEMU fails."
        })
final class PeerQemuCommand implements Callable<Integer> {

    @Option(names = "--scenarios", split = ",", paramLabel = "S[,S...]",
            description = "stop-cont, migrate, snapshot (default: all three).")
    List<String> scenarios;

    @Option(names = "--trials", defaultValue = "20", paramLabel = "N", description = "Trials per scenario (default ${DEFAULT-VALUE}).")
    int trials;

    static final Duration DEFAULT_PAUSE = Duration.ofMillis(100);

    @Option(names = "--pause", defaultValue = "100ms", paramLabel = "D", converter = DurationNsConverter.class,
            description = "How long stop-cont stays stopped and snapshot stays saved, e.g. 100ms, 1s (default ${DEFAULT-VALUE}, 1ms to 60s).")
    long pause;

    @Option(names = "--qemu", paramLabel = "PATH", description = "The QEMU binary (default: qemu-system-x86_64 on PATH).")
    Path qemu;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Option(names = "--report", paramLabel = "DIR", description = "Write an HTML page with charts to DIR.")
    Path report;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (trials < 1 || trials > 10_000) {
            throw UserError.badInput("--trials " + trials + " is out of range: 1 to 10000");
        }
        Duration pauseD = parsePause(pause);
        List<Scenario> chosen = parseScenarios(scenarios);
        if (report != null) {
            Inputs.outputFolder("--report", report, QemuReport.FILES);
        }
        PrintWriter err = spec.commandLine().getErr();
        PeerQemuResult result;
        try (Hypervisor hv = Backends.open()) {
            result = runQemu(options(qemu), chosen, trials, pauseD, hv, err);
        }
        Path index = null;
        IOException unwritten = null;
        if (report != null) {
            try {
                index = QemuReport.write(report, result);
            } catch (IOException e) {
                unwritten = e; // print what was measured first
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            var root = PeerQemuOutput.toJson(result);
            if (index != null) {
                root.put("report", index.toString());
            }
            out.println(Json.write(root));
        } else {
            PeerQemuOutput.printText(out, result);
            if (index != null) {
                out.println("report: " + index);
            }
        }
        out.flush();
        if (unwritten != null) {
            throw Inputs.unwritten("report", report, unwritten, " (the folder was left as it was)");
        }
        return ExitCode.OK;
    }

    static Duration parsePause(long pauseNs) {
        return Duration.ofNanos(Inputs.boundedNs("--pause", pauseNs, 1_000_000, 60 * Inputs.NS_PER_S));
    }

    static List<Scenario> parseScenarios(List<String> names) {
        if (names == null) {
            return List.of(Scenario.values());
        }
        List<Scenario> out = new ArrayList<>();
        for (String n : names) {
            out.add(Scenario.byLabel(n.strip()).orElseThrow(() -> UserError.badInput("unknown scenario '" + n
                    + "': choose from stop-cont, migrate, snapshot")));
        }
        return out;
    }

    static QemuProcess.Options options(Path qemu) {
        QemuProcess.Options o = QemuProcess.Options.defaults();
        if (qemu != null) {
            return o.withQemu(qemu);
        }
        if (QemuProcess.findOnPath().isEmpty()) {
            throw new UserError(ExitCode.ENVIRONMENT, QemuProcess.BINARY + " is not on PATH: install qemu-system-x86 "
                    + "(apt-get install --no-install-recommends qemu-system-x86) or pass --qemu PATH");
        }
        return o;
    }

    /** Runs the scenarios with progress on stderr; QEMU's errors become one line with exit 3 or 1. Shared with demo. */
    static PeerQemuResult runQemu(QemuProcess.Options o, List<Scenario> chosen, int trials, Duration pause, Hypervisor hv,
                                  PrintWriter err) {
        boolean tty = System.console() != null;
        try {
            PeerQemuResult r = PeerQemu.run(o, chosen, trials, pause, hv, (what, i, n) -> {
                if (tty) {
                    err.printf("\r%-36s trial %5d/%d", what, i, n);
                    err.flush();
                } else if (i == n) {
                    err.printf("peer qemu: %s: %d trials%n", what, n);
                    err.flush();
                }
            });
            if (tty) {
                err.print("\r" + " ".repeat(56) + "\r");
                err.flush();
            }
            return r;
        } catch (QemuException e) {
            if (tty) {
                err.println();
            }
            throw new UserError(e.kind() == QemuException.Kind.ENVIRONMENT ? ExitCode.ENVIRONMENT : ExitCode.FAILURE,
                    e.getMessage(), e);
        }
    }
}
