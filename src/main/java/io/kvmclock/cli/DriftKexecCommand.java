package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.drift.Durations;
import io.kvmclock.drift.KexecAnalysis;
import java.io.PrintWriter;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "kexec",
        mixinStandardHelpOptions = true,
        description = {
            "Keep or take a recalibrated tsc_khz after a kexec live update.",
            "",
            "After a live update by kexec the TSC keeps counting but the new",
            "kernel may calibrate a slightly different tsc_khz. Compares the guest's",
            "kvmclock if its pvclock KEEPS the old mul/shift versus TAKES the new one,",
            "while the host raw clock (the master clock's base) converts with the new",
            "kernel's clocksource. For t after the update (exact integers over t *",
            "true_khz * 1000 cycles):",
            "  step  = raw_new(c) - pvclock(c): what the guest sees if KVM takes a",
            "          new master clock reference at t (positive: forward);",
            "  err   = pvclock(c) - c / true_hz: the guest clock against true elapsed",
            "          time, with no refresh in between;",
            "  raw   = raw_new(c) - c / true_hz: where every refresh puts the guest.",
            "Kernel note (6.18 kvm_guest_time_update): the pvclock mul/shift come from",
            "the host's tsc_khz, scaled only by an active TSC scaling ratio, so",
            "KVM_SET_TSC_KHZ(old) within 250 ppm does NOT keep the old mul/shift."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock drift kexec --old-khz 2596138 --new-khz 2596139",
            "  kvmclock drift kexec --old-khz 2100000 --new-khz 2099998 --hours 72 --true-khz 2099999 --json"
        })
final class DriftKexecCommand implements Callable<Integer> {

    @Option(names = "--old-khz", required = true, converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "tsc_khz before the kexec.")
    long oldKhz;

    @Option(names = "--new-khz", required = true, converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "tsc_khz the new kernel calibrated.")
    long newKhz;

    @Option(names = "--true-khz", converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "The TSC's true rate, for 'error vs true' (default: the new calibration).")
    Long trueKhz;

    @Option(names = "--hours", defaultValue = "48", paramLabel = "H", description = "How far to look, a whole number of hours (default 48, at most 87600).")
    long hours;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (hours <= 0 || hours > 24 * 365 * 10) {
            throw UserError.badInput("--hours " + hours + " must be from 1 to 87600 (10 years)");
        }
        long truth = trueKhz == null ? newKhz : trueKhz;
        List<Long> seconds = new ArrayList<>();
        for (int i = 0; i <= 8; i++) {
            seconds.add(hours * 3600 * i / 8);
        }
        KexecAnalysis.Result r = KexecAnalysis.analyse(oldKhz, newKhz, truth, seconds);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("oldKhz", oldKhz);
            root.put("newKhz", newKhz);
            root.put("trueKhz", truth);
            root.putObject("oldPvclock").put("mul", r.oldPvclock().mul()).put("shift", r.oldPvclock().shift());
            root.putObject("newPvclock").put("mul", r.newPvclock().mul()).put("shift", r.newPvclock().shift());
            root.putObject("newClocksource").put("mult", r.newClocksource().mult())
                    .put("shift", r.newClocksource().shift());
            root.put("keepDriftPpb", r.keep().driftPpb().setScale(6, RoundingMode.HALF_EVEN));
            root.put("takeDriftPpb", r.take().driftPpb().setScale(6, RoundingMode.HALF_EVEN));
            root.put("takeRateChangePpb", r.keep().driftPpb().subtract(r.take().driftPpb())
                    .setScale(6, RoundingMode.HALF_EVEN));
            ArrayNode a = root.putArray("points");
            for (KexecAnalysis.Point p : r.points()) {
                a.addObject().put("seconds", p.seconds()).put("cycles", p.cycles())
                        .put("keepStepNs", p.stepKeepNs()).put("takeStepNs", p.stepTakeNs())
                        .put("keepErrorVsTrueNs", p.errorKeepNs()).put("takeErrorVsTrueNs", p.errorTakeNs())
                        .put("rawVsTrueNs", p.rawVsTrueNs());
            }
            root.put("recommended", r.recommended() == KexecAnalysis.Choice.TAKE_NEW ? "take-new" : "keep-old");
            root.put("reason", r.reason());
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        Table head = new Table();
        head.row("old tsc_khz", String.format("%,d kHz", oldKhz), "pvclock " + r.oldPvclock().mul() + " / "
                + r.oldPvclock().shift());
        head.row("new tsc_khz", String.format("%,d kHz", newKhz), "pvclock " + r.newPvclock().mul() + " / "
                + r.newPvclock().shift() + "; clocksource " + r.newClocksource().mult() + " / " + r.newClocksource().shift());
        head.row("true TSC rate (assumed)", String.format("%,d kHz", truth), trueKhz == null ? "default: the new calibration" : "");
        head.row("drift, keep old", DriftCommand.ppb(r.keep().driftPpb()) + " ppb", "raw_new - kvmclock_old");
        head.row("drift, take new", DriftCommand.ppb(r.take().driftPpb()) + " ppb", "raw_new - kvmclock_new");
        head.row("kvmclock rate change, take", DriftCommand.ppb(r.keep().driftPpb().subtract(r.take().driftPpb())) + " ppb",
                "once, at the update: what the guest's NTP has to re-learn");
        head.print(out);
        out.println();
        String fmt = "%10s  %16s  %16s  %16s  %16s  %14s%n";
        out.printf(fmt, "after", "step KEEP (ns)", "step TAKE (ns)", "err KEEP (ns)", "err TAKE (ns)", "raw err (ns)");
        for (KexecAnalysis.Point p : r.points()) {
            out.printf(fmt, Durations.format(p.seconds()), String.format("%,d", p.stepKeepNs()),
                    String.format("%,d", p.stepTakeNs()), String.format("%,d", p.errorKeepNs()),
                    String.format("%,d", p.errorTakeNs()), String.format("%,d", p.rawVsTrueNs()));
        }
        out.println();
        out.println("step = what the guest sees at a new master clock reference then; err = guest kvmclock minus true"
                + " elapsed time without a refresh; raw err = where a refresh puts it.");
        out.println("Recommendation: " + (r.recommended() == KexecAnalysis.Choice.TAKE_NEW ? "TAKE the new tsc_khz" : "KEEP the old tsc_khz")
                + ": " + r.reason() + ".");
        out.flush();
        return ExitCode.OK;
    }
}
