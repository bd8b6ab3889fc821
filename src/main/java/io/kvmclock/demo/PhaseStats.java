package io.kvmclock.demo;

import io.kvmclock.restore.Phase;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One phase over many restores: per restore its calls, wall time and the kernel's share (time inside KVM
 * ioctls); a restore that did not run the phase counts as zero.
 */
public record PhaseStats(String name, Summary calls, Summary wallNs, Summary kernelNs) {

    /** The phases of every restore, in the order they first appear. */
    public static List<PhaseStats> of(List<List<Phase>> restores) {
        Set<String> names = new LinkedHashSet<>();
        restores.forEach(r -> r.forEach(p -> names.add(p.name())));
        return names.stream().map(n -> {
            long[] calls = new long[restores.size()];
            long[] wall = new long[restores.size()];
            long[] kernel = new long[restores.size()];
            for (int i = 0; i < restores.size(); i++) {
                for (Phase p : restores.get(i)) {
                    if (p.name().equals(n)) {
                        calls[i] += p.calls();
                        wall[i] += p.wallNs();
                        kernel[i] += p.kernelNs();
                    }
                }
            }
            return new PhaseStats(n, Summary.of(calls), Summary.of(wall), Summary.of(kernel));
        }).toList();
    }
}
