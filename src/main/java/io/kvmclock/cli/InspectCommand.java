package io.kvmclock.cli;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.inspect.Debugfs;
import io.kvmclock.inspect.InspectException;
import io.kvmclock.inspect.Inspection;
import io.kvmclock.inspect.Inspector;
import io.kvmclock.inspect.ProcFs;
import io.kvmclock.inspect.TscOffset;
import io.kvmclock.inspect.VcpuClock;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "How far a running VM's kvmclock will step at KVM's next master clock reference.",
            "",
            "Finds each vCPU's pvclock in the VMM's guest RAM without the guest's help",
            "(read only, process_vm_readv, page by page; only structures this host's KVM",
            "could have written), reads the host TSC, and gives per vCPU the pvclock,",
            "TSC_STABLE, the rate it encodes, the age of KVM's reference, and the step a",
            "new reference would give the guest now, exactly as 'kvmclock drift' computes",
            "it over that many cycles. The guest TSC needs the vCPU's TSC offset: from",
            "KVM's debugfs where mounted, 0 under kvm_pvm (guests run on the host TSC),",
            "else unknown and why. Nothing is written to the target. Needs /dev/kvm (for",
            "the host TSC) and root (or the VMM's user)."
        },
        footer = {
            "",
            "Exit codes: 0 ok, 1 no pvclock found or the VMM exited, 2 no such pid or",
            "not a VMM, 3 no permission or no /dev/kvm.",
            "Examples:",
            "  kvmclock inspect 4242",
            "  kvmclock inspect 4242 --json",
            "  kvmclock inspect 4242 --watch 10s     every 10 s until Ctrl-C",
            "  kvmclock inspect 4242 --gpa 0x2000    try that guest address first"
        })
final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PID", description = "The VMM's process id (see 'kvmclock vms').")
    long pid;

    @Option(names = "--json", description = "Print JSON for scripts (one object per look with --watch).")
    boolean json;

    @Option(names = "--watch", paramLabel = "INTERVAL", converter = DurationNsConverter.class,
            description = "Look again every INTERVAL (e.g. 10s, 500ms), re-validating the pvclocks found, until interrupted.")
    Long watch;

    @Option(names = "--count", paramLabel = "N", description = "With --watch, stop after N looks.")
    Integer count;

    @Option(names = "--gpa", paramLabel = "ADDR",
            description = "A guest-physical address to try first (hex with 0x, or decimal), as an offset into guest RAM.")
    String gpa;

    @Spec
    CommandSpec spec;

    /** --watch and its like take at most a day. */
    static final long MAX_INTERVAL_NS = 86_400 * Inputs.NS_PER_S;

    @Override
    public Integer call() {
        Optional<Long> gpaHint = gpa == null ? Optional.empty() : Optional.of(PvclockCommand.parseU64(gpa));
        long intervalNs = 0;
        if (watch != null) {
            intervalNs = Inputs.boundedNs("--watch", watch, 0, MAX_INTERVAL_NS);
            if (intervalNs <= 0) {
                throw UserError.badInput("--watch needs a positive interval, e.g. 10s");
            }
        }
        if (count != null && count <= 0) {
            throw UserError.badInput("--count must be at least 1, got " + count);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            var process = ProcFs.read(pid);
            try (Hypervisor hv = Backends.open()) {
                Inspector inspector = new Inspector(InspectSupport.host(hv), Debugfs.find());
                Inspection i = inspector.inspect(process, gpaHint, InspectSupport.progress(err));
                InspectSupport.scanSummary(i, err);
                print(i, gpaHint, out);
                for (int looks = 1; watch != null && (count == null || looks < count); looks++) {
                    Thread.sleep(Duration.ofNanos(intervalNs));
                    i = inspector.revalidate(i, InspectSupport.progress(err));
                    InspectSupport.scanSummary(i, err);
                    print(i, gpaHint, out);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } catch (InspectException e) {
            throw InspectSupport.userError(e);
        }
        return ExitCode.OK;
    }

    private void print(Inspection i, Optional<Long> gpaHint, PrintWriter out) {
        if (json) {
            out.println(Json.write(InspectSupport.json(i, gpaHint)));
            out.flush();
            return;
        }
        out.printf("pid %d (%s), %d vCPU%s, host tsc_khz %,d%n", i.process().pid(), i.process().vmmName(),
                i.vcpus().size(), i.vcpus().size() == 1 ? "" : "s", i.hostTscKhz());
        for (VcpuClock v : i.vcpus()) {
            PvclockTimeInfo p = v.pvclock();
            Table t = new Table();
            t.row("pvclock at", "0x" + Long.toHexString(v.found().hva()),
                    "hva; +0x" + Long.toHexString(v.found().mappingOffset()) + " into its mapping");
            t.row("version", Long.toString(p.version()), "");
            t.row("tsc_timestamp", Long.toUnsignedString(p.tscTimestamp()), "");
            t.row("system_time", Long.toUnsignedString(p.systemTime()) + " ns", "");
            t.row("mul/shift", p.mul() + " / " + p.shift(), v.found().hostRate() ? "this host's tsc_khz"
                    : "a scaled TSC at " + v.found().encodedKhz() + " kHz");
            t.row("TSC_STABLE", Boolean.toString(p.tscStable()), p.tscStable() ? "master clock" : "no master clock");
            t.row("TSC offset", switch (v.offset()) {
                case TscOffset.Known k -> Long.toString(k.offset());
                case TscOffset.Unknown u -> "unknown";
            }, switch (v.offset()) {
                case TscOffset.Known k -> k.source();
                case TscOffset.Unknown u -> u.reason();
            });
            t.row("reference age", v.referenceAgeCycles().map(c -> String.format("%,d cycles", c)).orElse("unknown"),
                    v.referenceAgeSeconds().map(s -> s.toPlainString() + " s").orElse(v.unknownWhy()));
            t.row("pending step", v.pendingStepNs().map(s -> String.format("%,d ns", s)).orElse("unknown"),
                    v.direction().map(d -> d.name().toLowerCase(Locale.ROOT)).orElse(""));
            out.println("vCPU " + v.vcpu() + ":");
            t.print(out);
        }
        i.offsetsAgree().ifPresent(a -> out.println("TSC offsets agree: " + a));
        out.println(i.verdict());
        out.flush();
    }
}
