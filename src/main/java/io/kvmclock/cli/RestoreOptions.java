package io.kvmclock.cli;

import io.kvmclock.drift.Durations;
import io.kvmclock.restore.Budget;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The options every command that restores a guest shares, and the one place that turns them into a method. */
final class RestoreOptions {

    @Option(names = "--policy", defaultValue = "advance", paramLabel = "P",
            description = "Downtime policy for clock-guest and precise: advance (clocks include the blackout) or freeze (default ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--precise-bound", defaultValue = "1", paramLabel = "NS", converter = DurationNsConverter.OrBareNs.class,
            description = "The kvmclock error precise must reach: ns, or with a unit, e.g. 100ns, 1us (default ${DEFAULT-VALUE});"
                    + " a looser bound takes fewer KVM_SET_CLOCK rounds.")
    long preciseBound;

    @Option(names = "--budget", paramLabel = "D", converter = DurationNsConverter.class,
            description = "The most time precise may spend on one restore, e.g. 200us, 1ms (default: no limit, only its round"
                    + " limit); when it is spent precise fails, or with --best-effort keeps its best verified landing.")
    Long budget;

    @Option(names = "--best-effort", description = "With --budget: at the budget keep the best landing precise verified and"
            + " report its exact error, instead of failing.")
    boolean bestEffort;

    /** The time budget precise gets from --budget and --best-effort. */
    Budget budget() {
        if (budget == null) {
            if (bestEffort) {
                throw UserError.badInput("--best-effort needs --budget D: the time after which precise keeps its best landing");
            }
            return Budget.NONE;
        }
        if (budget <= 0) {
            throw UserError.badInput("--budget " + Durations.formatExactNs(budget) + " must be longer than 0, e.g. 200us or 1ms");
        }
        return new Budget(budget, bestEffort);
    }

    /** These options as arguments, for a second process that must restore the same way (live-update). */
    List<String> asArguments() {
        List<String> a = new ArrayList<>(List.of("--policy", policy, "--precise-bound",
                Long.toString(preciseBound)));
        if (budget != null) {
            a.addAll(List.of("--budget", budget + "ns"));
        }
        if (bestEffort) {
            a.add("--best-effort");
        }
        return a;
    }

    DowntimePolicy policy() {
        return switch (policy.toLowerCase(Locale.ROOT)) {
            case "advance" -> DowntimePolicy.ADVANCE;
            case "freeze" -> DowntimePolicy.FREEZE;
            default -> throw UserError.badInput("--policy '" + policy + "': choose advance or freeze");
        };
    }

    /** The method called {@code name} with these options; an unknown name or a bad option is bad input. */
    RestoreMethod method(String name) {
        DowntimePolicy p = policy();
        if (preciseBound < 1 || preciseBound > 1_000_000) {
            throw UserError.badInput("--precise-bound " + preciseBound + " is out of range: 1 to 1000000 ns");
        }
        try {
            return RestoreMethods.byName(name.trim(), p, preciseBound, budget());
        } catch (IllegalArgumentException e) {
            throw UserError.badInput(e.getMessage());
        }
    }
}
