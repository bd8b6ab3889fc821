package io.kvmclock.peer.qemu;

import java.util.List;

/** A whole `peer qemu` run: the QEMU, the pause asked for, and per scenario real QEMU beside the re-implementation. */
public record PeerQemuResult(String qemuVersion, String qemuPath, long pauseNs, long tscKhz, String reimplementationBackend,
                             List<ScenarioResult> scenarios) {

    public record ScenarioResult(Scenario scenario, List<Observation> qemu, List<Observation> reimplementation,
                                 Verdict verdict) {}
}
