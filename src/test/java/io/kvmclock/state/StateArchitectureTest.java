package io.kvmclock.state;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The state package is pure: only StateFile touches files, and nothing here reaches a backend or FFM. */
@AnalyzeClasses(packages = "io.kvmclock.state", importOptions = ImportOption.DoNotIncludeTests.class)
class StateArchitectureTest {

    @ArchTest
    static final ArchRule onlyStateFileDoesIo = noClasses().that().resideInAPackage("io.kvmclock.state..")
            .and().doNotHaveFullyQualifiedName(StateFile.class.getName())
            .and().doNotHaveFullyQualifiedName(StateFile.NotRegularFileException.class.getName())
            .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.nio.channels..")
            .because("encoding and validation are pure; file I/O lives in StateFile");

    @ArchTest
    static final ArchRule noBackendsNoFfm = noClasses().that().resideInAPackage("io.kvmclock.state..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..",
                    "io.kvmclock.cli..", "java.lang.foreign..");
}
