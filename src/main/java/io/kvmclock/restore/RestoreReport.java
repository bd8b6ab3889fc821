package io.kvmclock.restore;

import java.util.List;
import java.util.OptionalLong;

/**
 * What a restore did. {@code rounds} counts KVM_SET_CLOCK attempts for methods that iterate (1 otherwise);
 * {@code residualNs} is the method's own exact view of its error where it has one (precise);
 * {@code phases} where the time went (empty for methods that do not time their parts); {@code budgetHit}
 * whether it stopped at its time budget (precise --best-effort) rather than at its bound.
 */
public record RestoreReport(String method, int rounds, OptionalLong residualNs, boolean fellBack, List<String> notes,
                            List<Phase> phases, boolean budgetHit) {
    public RestoreReport {
        notes = List.copyOf(notes);
        phases = List.copyOf(phases);
    }

    public RestoreReport(String method, int rounds, OptionalLong residualNs, boolean fellBack, List<String> notes) {
        this(method, rounds, residualNs, fellBack, notes, List.of(), false);
    }

    public static RestoreReport simple(String method, List<String> notes) {
        return new RestoreReport(method, 1, OptionalLong.empty(), false, notes);
    }
}
