package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** CLI conventions every command keeps: --help with an example, --version, exit codes. */
class ConventionsTest {

    private static List<CommandLine> allCommands(CommandLine root) {
        List<CommandLine> all = new ArrayList<>();
        all.add(root);
        for (CommandLine sub : root.getSubcommands().values()) {
            if (!sub.getCommandName().equals("help")) {
                all.addAll(allCommands(sub));
            }
        }
        return all;
    }

    @Test
    void everyCommandHasHelpWithAnExample() {
        for (CommandLine cl : allCommands(new CommandLine(new Main()))) {
            String name = cl.getCommandSpec().qualifiedName();
            String usage = cl.getUsageMessage();
            boolean hasSubcommands = cl.getSubcommands().keySet().stream().anyMatch(n -> !n.equals("help"));
            assertTrue(hasSubcommands || usage.contains("Example"), name + " --help has no example:\n" + usage);
            String[] args = (name.replaceFirst("^kvmclock ?", "") + " --help").trim().split(" ");
            CliRun r = CliRun.of(args);
            assertEquals(ExitCode.OK, r.exitCode(), name + ": " + r.err());
            assertTrue(r.out().contains("Usage:"), name + ": " + r.out());
        }
    }

    @Test
    void versionPrintsTheProgramName() {
        CliRun r = CliRun.of("--version");
        assertEquals(ExitCode.OK, r.exitCode());
        assertTrue(r.out().startsWith("kvmclock "), r.out());
    }

    @Test
    void unknownCommandIsBadInput() {
        CliRun r = CliRun.of("frobnicate");
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.errLine().contains("frobnicate"), r.err());
    }

    @Test
    void exitCodesAreDistinct() {
        assertEquals(4, Set.of(ExitCode.OK, ExitCode.FAILURE, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT).size());
    }
}
