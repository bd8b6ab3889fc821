package io.kvmclock.peer.qemu;

import java.util.Arrays;
import java.util.Optional;

/** What QEMU does to the running guest between two of its samples. */
public enum Scenario {
    /** QMP {@code stop}, the pause, {@code cont}: the same process, the same KVM VM. */
    STOP_CONT("stop-cont"),
    /** Live migration to a second QEMU ({@code -incoming}, a unix socket); the blackout is QEMU's downtime. */
    MIGRATE("migrate"),
    /** Migration to a file ({@code exec:cat > F}), the source ends, the pause, a new QEMU loads the file. */
    SNAPSHOT("snapshot");

    private final String label;

    Scenario(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static Optional<Scenario> byLabel(String s) {
        return Arrays.stream(values()).filter(v -> v.label.equals(s)).findFirst();
    }
}
