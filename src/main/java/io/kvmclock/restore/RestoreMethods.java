package io.kvmclock.restore;

import java.util.List;
import java.util.stream.Collectors;

/** The methods by name. */
public final class RestoreMethods {
    private RestoreMethods() {}

    /** Every method with its default downtime policy, peers first, ours last. */
    public static List<RestoreMethod> all() {
        return List.of(new QemuMethod(), new FirecrackerMethod(false), new FirecrackerMethod(true),
                new CloudHypervisorMethod(), new DocumentedMethod(), new DocumentedV6Method(),
                new ClockGuestMethod(DowntimePolicy.ADVANCE),
                new PreciseMethod(DowntimePolicy.ADVANCE));
    }

    public static List<String> names() {
        return all().stream().map(RestoreMethod::name).toList();
    }

    /** The method called {@code name}, with {@code policy} where the method lets the caller choose it. */
    public static RestoreMethod byName(String name, DowntimePolicy policy) {
        return byName(name, policy, PreciseMethod.DEFAULT_BOUND_NS);
    }

    /** As {@link #byName(String, DowntimePolicy)}, with the bound precise must reach, in ns. */
    public static RestoreMethod byName(String name, DowntimePolicy policy, long preciseBoundNs) {
        return byName(name, policy, preciseBoundNs, Budget.NONE);
    }

    /** As {@link #byName(String, DowntimePolicy, long)}, with the time precise may spend on one restore. */
    public static RestoreMethod byName(String name, DowntimePolicy policy, long preciseBoundNs, Budget preciseBudget) {
        return switch (name) {
            case "clock-guest" -> new ClockGuestMethod(policy);
            case "precise" -> new PreciseMethod(policy, preciseBoundNs, PreciseMethod.DEFAULT_MAX_ROUNDS, preciseBudget);
            default -> all().stream().filter(m -> m.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no restore method '" + name + "': choose from "
                            + all().stream().map(RestoreMethod::name).collect(Collectors.joining(", "))));
        };
    }
}
