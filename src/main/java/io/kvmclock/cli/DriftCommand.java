package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.drift.Durations;
import io.kvmclock.drift.StepMeasurement;
import io.kvmclock.hv.Hypervisor;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "drift",
        mixinStandardHelpOptions = true,
        description = {
            "Predict (or measure on KVM) the kvmclock step at a new master clock reference.",
            "",
            "The step a guest's kvmclock takes when KVM takes a new master clock",
            "reference DURATION after the previous one: kvmclock converts TSC",
            "cycles with the pvclock mul/shift, the host raw clock with the clocksource",
            "mult/shift, and a new reference re-bases the guest on the raw clock. Exact",
            "integer arithmetic over the cycle count (not the ppb approximation);",
            "positive = the guest clock steps forward.",
            "",
            "--measure DURATION runs the clock guest on real KVM, waits, triggers a new",
            "reference and reads the step the guest actually sees, beside the prediction."
        },
        subcommands = {
            DriftPolicyCommand.class,
            DriftKexecCommand.class,
            DriftSeedCommand.class,
            CommandLine.HelpCommand.class
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock drift --tsc-khz 2596138 --since 40h",
            "  kvmclock drift --tsc-khz 2.9952GHz --since 1250s --json",
            "  kvmclock drift --measure 30s --trigger tsc-offset --json",
            "  kvmclock drift policy --max-jump 1000 --range 1GHz-5GHz",
            "  kvmclock drift kexec --old-khz 2596138 --new-khz 2596139",
            "  kvmclock drift seed004"
        })
final class DriftCommand implements Callable<Integer> {

    @Option(names = "--tsc-khz", converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "Host TSC frequency: kHz (2596138) or with a unit (2.596138GHz). Needed with --since.")
    Long tscKhz;

    @Option(names = "--since", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "Time since the previous master clock reference, whole seconds: 40h, 1250s, 90m, 2d, 1h30m.")
    Long sinceSeconds;

    @Option(names = "--measure", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "Measure on real KVM: wait DURATION (at least 20s for a +-2 ns comparison), trigger, read the step.")
    Long measureSeconds;

    @Option(names = "--trigger", paramLabel = "HOW", defaultValue = "tsc-offset",
            description = "With --measure, how to ask KVM for a new reference: tsc-offset (offset+1 and back, default),"
                    + " tsc-offset-bump (offset+1 kept), tsc-msr (host writes IA32_TSC), set-clock (KVM_GET_CLOCK then"
                    + " KVM_SET_CLOCK REALTIME: re-bases, drift discarded), set-clock-saved (KVM_SET_CLOCK REALTIME with the pair saved"
                    + " at the first reference: re-bases on realtime, step = realtime - kvmclock + ioctl gap), hotplug (a 2nd vCPU, run once);"
                    + " kvmclock-ctrl, system-time-msr, tsc-khz (+1 MHz) to show they take none.")
    String trigger;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** --measure waits this long at most: the wait is a sleep on real KVM, with the guest held open. */
    static final long MAX_MEASURE_NS = 86_400 * Inputs.NS_PER_S;

    @Override
    public Integer call() {
        if (measureSeconds != null) {
            Inputs.boundedSeconds("--measure", measureSeconds, MAX_MEASURE_NS);
            if (sinceSeconds != null) {
                throw UserError.badInput("give either --since (predict) or --measure (measure on KVM), not both");
            }
            return measure();
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--trigger")) {
            throw UserError.badInput("--trigger chooses how --measure asks KVM for a new reference: add --measure DURATION,"
                    + " or drop --trigger to predict");
        }
        if (tscKhz == null || sinceSeconds == null) {
            throw UserError.badInput("drift needs --tsc-khz FREQ and --since DURATION (or --measure DURATION);"
                    + " try 'kvmclock drift --help'");
        }
        DriftPredictor.Prediction p;
        try {
            p = DriftPredictor.predict(tscKhz, sinceSeconds);
        } catch (ArithmeticException e) {
            throw UserError.badInput("--since " + Durations.format(sinceSeconds)
                    + " is too long: the cycle count at this frequency overflows 64 bits");
        }
        PrintWriter out = spec.commandLine().getOut();
        boolean backwards = p.stepNs() < 0;
        if (json) {
            ObjectNode root = Json.object();
            root.put("tscKhz", p.tscKhz());
            root.put("sinceSeconds", p.seconds());
            root.put("cycles", p.cycles());
            root.put("predictedJumpNs", p.stepNs());
            root.put("direction", p.direction().name().toLowerCase(java.util.Locale.ROOT));
            root.put("driftPpb", p.driftPpb().setScale(6, RoundingMode.HALF_EVEN));
            root.putObject("pvclock").put("mul", p.drift().pvclock().mul()).put("shift", p.drift().pvclock().shift());
            root.putObject("clocksource").put("mult", p.drift().clocksource().mult())
                    .put("shift", p.drift().clocksource().shift());
            root.put("stableGuestSeesTimeGoBackwards", backwards);
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        Table t = new Table();
        t.row("TSC frequency", String.format("%,d kHz", p.tscKhz()), "host = guest (no TSC scaling)");
        t.row("since last reference", Durations.format(p.seconds()), String.format("%,d s", p.seconds()));
        t.row("cycles", String.format("%,d", p.cycles()), "");
        t.row("pvclock mul/shift", p.drift().pvclock().mul() + " / " + p.drift().pvclock().shift(), "kvmclock's conversion");
        t.row("clocksource mult/shift", p.drift().clocksource().mult() + " / " + p.drift().clocksource().shift(),
                "host raw clock's conversion");
        t.row("drift (raw - kvmclock)", ppb(p.driftPpb()) + " ppb", "");
        t.row("predicted step", String.format("%,d ns", p.stepNs()), switch (p.direction()) {
            case FORWARD -> "guest clock steps FORWARD";
            case BACKWARD -> "guest clock steps BACKWARD";
            case NONE -> "no step";
        });
        t.row("TSC_STABLE guest", backwards ? "time goes BACKWARDS" : "monotonic",
                backwards ? "pvclock reads are not clamped with TSC_STABLE set" : "a forward step only");
        t.print(out);
        return ExitCode.OK;
    }

    private Integer measure() {
        StepMeasurement.Trigger how;
        try {
            how = StepMeasurement.Trigger.parse(trigger);
        } catch (IllegalArgumentException e) {
            throw UserError.badInput(e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        StepMeasurement.Result r;
        try (Hypervisor hv = Backends.open()) {
            err.printf("kvmclock: booting the clock guest on %s, waiting %s, then trigger %s ...%n", hv.backend(),
                    Durations.format(measureSeconds), how.cliName());
            err.flush();
            r = new StepMeasurement(hv).measure(Math.multiplyExact(measureSeconds, 1_000_000_000L), how,
                    progress(err));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("backend", r.backend());
            root.put("trigger", r.trigger().cliName());
            root.put("tscKhz", r.tscKhz());
            root.put("sinceSeconds", measureSeconds);
            root.put("newReference", r.newReference());
            root.put("tscStableAfter", r.after().tscStable());
            root.put("hostCycles", r.hostCycles());
            root.put("offsetChange", r.offsetChange());
            root.put("rawNsBetween", r.rawNsBetween());
            root.put("measuredJumpNs", r.measuredStepNs());
            root.put("guestReadJumpNs", r.guestReadStepNs());
            root.put("predictedJumpNs", r.predictedStepNs());
            root.put("driftJumpNs", r.driftStepNs());
            root.put("differenceNs", r.differenceNs());
            Json.putUnsigned(root, "guestTsc", r.guestTsc());
            root.put("pvclockBefore", r.before().toHex());
            root.put("pvclockAfter", r.after().toHex());
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        Table t = new Table();
        t.row("backend / trigger", r.backend() + " / " + r.trigger().cliName(), "");
        t.row("TSC frequency", String.format("%,d kHz", r.tscKhz()), "");
        t.row("new master clock reference", r.newReference() ? "yes" : "NO",
                r.newReference() ? "" : "this trigger took no new reference on this kernel");
        t.row("TSC_STABLE after", r.after().tscStable() ? "yes" : "NO",
                r.after().tscStable() ? "still in master-clock mode" : "KVM left master-clock mode: no exact prediction");
        t.row("host cycles between references", String.format("%,d", r.hostCycles()), "P2.tsc_timestamp - P1.tsc_timestamp - offset change");
        t.row("raw ns between references", String.format("%,d", r.rawNsBetween()), "P2.system_time - P1.system_time");
        t.row("measured step", String.format("%,d ns", r.measuredStepNs()),
                "P2.read(T) - P1.read(T), T = P2.tsc_timestamp (the new reference)");
        t.row("  as the guest read it", String.format("%,d ns", r.guestReadStepNs()),
                "P2.read(t) - P1.read(t) at the TSC t the guest reported next");
        t.row("predicted step", String.format("%,d ns", r.predictedStepNs()),
                switch (r.trigger()) {
                    case SET_CLOCK -> "KVM_SET_CLOCK re-bases on the old function: drift discarded";
                    case SET_CLOCK_SAVED -> "raw drift; measured adds realtime-vs-raw rate and the ioctl gap";
                    default -> "raw(cycles) - pvclock(cycles)";
                });
        t.row("drift over that span", String.format("%,d ns", r.driftStepNs()), "what a plain re-base would give");
        t.row("difference", String.format("%+,d ns", r.differenceNs()), "measured - predicted");
        t.print(out);
        return ExitCode.OK;
    }

    /** One stderr line rewritten in place: whole seconds waited of the total. */
    private static StepMeasurement.Progress progress(PrintWriter err) {
        long[] shown = {-1};
        return (done, total) -> {
            long s = done / 1_000_000_000L;
            if (s != shown[0]) {
                shown[0] = s;
                err.printf("\rkvmclock: waited %s of %s", Durations.format(s), Durations.format(total / 1_000_000_000L));
                if (done >= total) {
                    err.println();
                }
                err.flush();
            }
        };
    }

    static String ppb(BigDecimal ppb) {
        return ppb.setScale(3, RoundingMode.HALF_EVEN).toPlainString();
    }
}
