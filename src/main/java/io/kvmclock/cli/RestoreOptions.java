package io.kvmclock.cli;

import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The options every command that restores a guest shares, and the one place that turns them into a method. */
final class RestoreOptions {

    @Option(names = "--policy", defaultValue = "advance", paramLabel = "P",
            description = "Downtime policy for clock-guest and precise: advance (clocks include the blackout) or freeze (default ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--precise-bound", defaultValue = "1", paramLabel = "NS",
            description = "The kvmclock error precise must reach, in ns (default ${DEFAULT-VALUE}); a looser bound takes fewer KVM_SET_CLOCK rounds.")
    long preciseBound;

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
            return RestoreMethods.byName(name.trim(), p, preciseBound);
        } catch (IllegalArgumentException e) {
            throw UserError.badInput(e.getMessage());
        }
    }
}
