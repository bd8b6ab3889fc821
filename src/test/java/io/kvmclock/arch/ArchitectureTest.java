package io.kvmclock.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** Dependency directions: arithmetic at the bottom, cli at the top, FFM only in the real backend. */
@AnalyzeClasses(packages = "io.kvmclock", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule arithmeticIsPure = noClasses().that().resideInAPackage("io.kvmclock.time..")
            .should().dependOnClassesThat().resideOutsideOfPackages("io.kvmclock.time..", "java.lang..", "java.math..",
                    "java.nio..", "java.util..")
            .because("the arithmetic package does no I/O and no FFM");

    @ArchTest
    static final ArchRule arithmeticDoesNoIo = noClasses().that().resideInAPackage("io.kvmclock.time..")
            .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.nio.channels..",
                    "java.lang.foreign..");

    @ArchTest
    static final ArchRule nobodyImportsTheCli = noClasses().that().resideOutsideOfPackage("io.kvmclock.cli..")
            .should().dependOnClassesThat().resideInAPackage("io.kvmclock.cli..");

    @ArchTest
    static final ArchRule onlyTheKvmBackendUsesFfm = noClasses().that().resideOutsideOfPackage("io.kvmclock.kvm..")
            .should().dependOnClassesThat().resideInAPackage("java.lang.foreign..")
            .because("FFM is confined to the real backend's binding");

    @ArchTest
    static final ArchRule contractDependsOnlyOnArithmetic = noClasses().that().resideInAPackage("io.kvmclock.hv..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..",
                    "io.kvmclock.cli..", "io.kvmclock.guest..");

    @ArchTest
    static final ArchRule backendsAreIndependent = noClasses().that().resideInAPackage("io.kvmclock.sim..")
            .should().dependOnClassesThat().resideInAPackage("io.kvmclock.kvm..")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule restoreSeesOnlyTheContractStateAndArithmetic = noClasses().that()
            .resideInAPackage("io.kvmclock.restore..")
            .should().dependOnClassesThat(JavaClass.Predicates.resideInAPackage("io.kvmclock..")
                    .and(JavaClass.Predicates.resideOutsideOfPackages("io.kvmclock.restore..", "io.kvmclock.hv..",
                            "io.kvmclock.state..", "io.kvmclock.time..")))
            .because("a restore method runs the same on every backend: it sees io.kvmclock.hv, the saved state and the arithmetic");

    @ArchTest
    static final ArchRule demoIsBackendNeutral = noClasses().that().resideInAPackage("io.kvmclock.demo..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..")
            .because("the CLI picks the backend; the demo runs on whichever it is given");

    @ArchTest
    static final ArchRule theModelReadsNoFiles = noClasses().that().resideInAPackage("io.kvmclock.sim..")
            .should().dependOnClassesThat().resideInAnyPackage("com.fasterxml..", "io.kvmclock.scenario..",
                    "io.kvmclock.restore..", "io.kvmclock.demo..")
            .because("the model is KVM behind io.kvmclock.hv; scenario files and what runs on the model sit above it");

    @ArchTest
    static final ArchRule scenariosSitAboveTheModelAndTheMethods = noClasses().that()
            .resideOutsideOfPackages("io.kvmclock.scenario..", "io.kvmclock.cli..", "io.kvmclock.fuzz..")
            .should().dependOnClassesThat().resideInAPackage("io.kvmclock.scenario..")
            .because("a scenario drives the model through ClockCapture and the restore methods; only the CLI and the fuzzer use it");

    @ArchTest
    static final ArchRule realQemuUsesOnlyTheContract = noClasses().that().resideInAPackage("io.kvmclock.peer..")
            .should().dependOnClassesThat().resideInAnyPackage("io.kvmclock.kvm..", "io.kvmclock.sim..", "io.kvmclock.cli..")
            .because("the re-implementation beside real QEMU runs on io.kvmclock.hv, whichever backend the CLI opened");
}
