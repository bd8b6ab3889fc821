package io.kvmclock.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "peer",
        mixinStandardHelpOptions = true,
        description = {
            "Measure a real VMM from inside its guest, beside the project's re-implementation of it.",
            "",
            "The re-implementations in `demo` (qemu, firecracker, cloud-hypervisor) follow",
            "those VMMs' published sequences; `peer` runs the real VMM and checks them."
        },
        subcommands = {PeerQemuCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:", "  kvmclock peer qemu", "  kvmclock peer qemu --scenarios migrate --trials 50 --json"})
final class PeerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCode.OK;
    }
}
