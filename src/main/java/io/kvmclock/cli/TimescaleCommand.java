package io.kvmclock.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.Drift;
import io.kvmclock.time.TimeScale;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "timescale",
        mixinStandardHelpOptions = true,
        description = {
            "What mul/shift a guest gets at a TSC frequency, and how fast its kvmclock parts from the host raw clock.",
            "",
            "pvclock mul/shift: kvm_get_time_scale(1e9, tsc_khz*1000), as KVM writes into the guest's pvclock.",
            "clocksource mult/shift: the host TSC clocksource (clocks_calc_mult_shift, 600 s), which drives",
            "CLOCK_MONOTONIC_RAW and so the master clock. The two round differently; the difference is the drift,",
            "and the guest sees it as a step whenever KVM takes a new master clock reference."
        },
        footer = {
            "",
            "Examples:",
            "  kvmclock timescale --tsc-khz 2596138",
            "  kvmclock timescale --tsc-khz 2.9952GHz --json"
        })
final class TimescaleCommand implements Callable<Integer> {
    static final long SECONDS_PER_DAY = 86_400;

    @Option(names = "--tsc-khz", required = true, converter = FrequencyConverter.class, paramLabel = "FREQ",
            description = "TSC frequency: kHz (2596138) or with a unit (2596.138MHz, 2.596138GHz), 1 MHz to 10 GHz.")
    long tscKhz;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        TimeScale pv = TimeScale.forGuestKhz(tscKhz);
        Clocksource cs = Clocksource.forTscKhz(tscKhz);
        Drift drift = new Drift(tscKhz, pv, cs);
        long recoveredHz = pv.toHz();
        BigDecimal ppb = drift.driftPpb();
        long jumpPerDay = drift.stepAfterSeconds(SECONDS_PER_DAY);
        var out = spec.commandLine().getOut();
        if (json) {
            ObjectNode root = Json.object();
            root.put("tscKhz", tscKhz);
            root.putObject("pvclock").put("mul", pv.mul()).put("shift", pv.shift());
            root.putObject("clocksource").put("mult", cs.mult()).put("shift", cs.shift());
            root.put("recoveredHz", recoveredHz);
            root.put("driftPpb", ppb.setScale(6, RoundingMode.HALF_EVEN));
            root.put("jumpNsPerDay", jumpPerDay);
            out.println(Json.write(root));
            return ExitCode.OK;
        }
        long hz = tscKhz * 1000;
        Table t = new Table();
        t.row("TSC frequency", String.format("%,d kHz", tscKhz), "host tsc_khz = guest tsc_khz (no scaling)");
        t.row("pvclock mul", Long.toString(pv.mul()), "kvm_get_time_scale(1e9, " + hz + ")");
        t.row("pvclock shift", Integer.toString(pv.shift()), "");
        t.row("recovered frequency", String.format("%,d Hz", recoveredHz),
                String.format("hvclock_to_hz; %+d Hz from %,d", recoveredHz - hz, hz));
        t.row("clocksource mult", Long.toString(cs.mult()), "clocks_calc_mult_shift(" + tscKhz + ", 1e6, 600000)");
        t.row("clocksource shift", Integer.toString(cs.shift()), "");
        t.row("drift (raw - kvmclock)", ppb.setScale(3, RoundingMode.HALF_EVEN).toPlainString() + " ppb",
                ppb.signum() < 0 ? "raw clock runs slower than kvmclock" : "raw clock runs faster than kvmclock");
        t.row("step after 1 day", String.format("%,d ns", jumpPerDay),
                jumpPerDay < 0 ? "guest clock steps BACKWARD at the next master clock reference"
                        : jumpPerDay > 0 ? "guest clock steps forward at the next master clock reference" : "no step");
        t.print(out);
        return ExitCode.OK;
    }
}
