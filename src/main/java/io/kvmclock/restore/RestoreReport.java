package io.kvmclock.restore;

import java.util.List;

/**
 * What a restore did. {@code rounds} counts KVM_SET_CLOCK attempts for methods that iterate (1 otherwise);
 * {@code residualNs} is the method's own exact view of its error where it has one (precise), else null.
 */
public record RestoreReport(String method, int rounds, Long residualNs, boolean fellBack, List<String> notes) {
    public RestoreReport {
        notes = List.copyOf(notes);
    }

    public static RestoreReport simple(String method, List<String> notes) {
        return new RestoreReport(method, 1, null, false, notes);
    }
}
