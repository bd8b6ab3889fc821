package io.kvmclock.peer.qemu;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.peer.qemu.PeerQemuResult.ScenarioResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * `kvmclock peer qemu`: each scenario on real QEMU, then the project's {@code qemu} method on the project's
 * own VMM ({@code hv}) with the blackouts QEMU showed, trial by trial, and the {@link Verdict}.
 */
public final class PeerQemu {
    private PeerQemu() {}

    public static PeerQemuResult run(QemuProcess.Options options, List<Scenario> scenarios, int trials, Duration pause,
                                     Hypervisor hv, Progress progress) {
        String version = QemuProcess.version(options.qemu());
        QemuScenarios runner = new QemuScenarios(options, trials, pause, progress);
        List<ScenarioResult> out = new ArrayList<>();
        for (Scenario s : scenarios) {
            List<Observation> real = runner.run(s);
            List<Long> blackouts = real.stream().map(o -> o.pauseMicros() * 1000).toList();
            List<Observation> ours = Reimplementation.run(hv, blackouts, Reimplementation.clockSave(s), s.label() + ": re-implementation", progress);
            out.add(new ScenarioResult(s, real, ours, Verdict.of(real, ours, runner.tscKhz())));
        }
        return new PeerQemuResult(version, options.qemu().toString(), pause.toNanos(), runner.tscKhz(), hv.backend(), out);
    }
}
