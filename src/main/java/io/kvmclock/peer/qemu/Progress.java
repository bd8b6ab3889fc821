package io.kvmclock.peer.qemu;

/** Progress of a slow run, for stderr: what runs (e.g. "migrate: QEMU"), trial (1-based), trials. */
@FunctionalInterface
public interface Progress {
    void update(String what, int trial, int trials);
}
