package io.kvmclock.hv;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How to build a VM. {@code sharedMemory}, when present, backs guest memory with that file (mapped shared)
 * so a second process can map the same guest: a VMM live update.
 */
public record VmConfig(long memoryBytes, Optional<Path> sharedMemory) {
    public static final long DEFAULT_MEMORY = 2L << 20;

    public static VmConfig defaults() {
        return new VmConfig(DEFAULT_MEMORY, Optional.empty());
    }
}
