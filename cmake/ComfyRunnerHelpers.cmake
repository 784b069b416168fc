# Helpers shared by every part of the tree.

# cr_set_warnings(target): our code builds warning-free with -Wall -Wextra.
function(cr_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
endfunction()

# cr_add_include_root(target PUBLIC|PRIVATE [FOLDER dir]): the layering rule, in one place. Includes are
# written from src/ for src/ (#include "core/config/config.h") and from the repository root for the rest
# (#include "gui/client/restclient.h", "tests/support/wsprobe.h"), but no target gets src/ or the root on its
# include path: each gets its own include root, <build>/include-roots/<target>, holding one symbolic link named
# like its includes ("core/config") to its folder (the current source folder unless FOLDER). So a header
# compiles only in a target that links the library of its folder: gui/ links no service library and cannot
# include core/, and only test targets (which alone link tests/ libraries) can include tests/.
# tests/layering checks that this holds.
function(cr_add_include_root target scope)
    cmake_parse_arguments(ARG "" "FOLDER" "" ${ARGN})
    if(NOT ARG_FOLDER)
        set(ARG_FOLDER "${CMAKE_CURRENT_SOURCE_DIR}")
    endif()
    file(RELATIVE_PATH relative "${PROJECT_SOURCE_DIR}" "${ARG_FOLDER}")
    string(REGEX REPLACE "^src/" "" link "${relative}")
    set(root "${PROJECT_BINARY_DIR}/include-roots/${target}")
    get_filename_component(parent "${root}/${link}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    file(CREATE_LINK "${ARG_FOLDER}" "${root}/${link}" SYMBOLIC)
    target_include_directories(${target} ${scope} "${root}")
endfunction()

# cr_add_library(name SOURCES ... LIBS ...): a static library of ours; it exports its own folder only
# (cr_add_include_root), and what it links.
function(cr_add_library name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
    add_library(${name} STATIC ${ARG_SOURCES})
    cr_add_include_root(${name} PUBLIC)
    target_link_libraries(${name} PUBLIC ${ARG_LIBS})
    cr_set_warnings(${name})
endfunction()

# cr_add_test(tst_name SOURCES ... LIBS ... [GUI] [TIMEOUT s]): one Qt Test executable registered with CTest.
# Tests find the recorded ComfyUI traffic through CR_CAPTURES_DIR and the repo through CR_SOURCE_DIR.
function(cr_add_test name)
    cmake_parse_arguments(ARG "GUI" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    cr_add_include_root(${name} PRIVATE FOLDER "${PROJECT_SOURCE_DIR}/tests") # a test may include any of tests/
    target_link_libraries(${name} PRIVATE Qt6::Test ${ARG_LIBS})
    target_compile_definitions(${name} PRIVATE
        CR_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        CR_CAPTURES_DIR="${CR_CAPTURES_DIR}"
        CR_BINARY_DIR="${PROJECT_BINARY_DIR}")
    cr_set_warnings(${name})
    add_test(NAME ${name} COMMAND ${name})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    set(env "QT_QPA_PLATFORM=offscreen")
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "${env}")
endfunction()

# cr_add_bench(bench-name SOURCES ... LIBS ... [SIM target]): a benchmark executable that starts comfy-runner
# and a simulator (comfy-sim unless SIM names another target) as children: their paths are compiled in
# (CR_BENCH_RUNNER, CR_BENCH_SIM), and both are built first.
function(cr_add_bench name)
    cmake_parse_arguments(ARG "" "SIM" "SOURCES;LIBS" ${ARGN})
    if(NOT ARG_SIM)
        set(ARG_SIM comfy-sim)
    endif()
    add_executable(${name} ${ARG_SOURCES})
    cr_add_include_root(${name} PRIVATE)
    target_link_libraries(${name} PRIVATE cr_benchsupport ${ARG_LIBS})
    target_compile_definitions(${name} PRIVATE
        CR_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        CR_BENCH_RUNNER="$<TARGET_FILE:comfy-runner>"
        CR_BENCH_SIM="$<TARGET_FILE:${ARG_SIM}>")
    add_dependencies(${name} comfy-runner ${ARG_SIM})
    cr_set_warnings(${name})
endfunction()

# cr_add_pg_test(tst_name): the test tst_name once more as tst_name_pg, on PostgreSQL: CR_TEST_STORE=postgresql,
# run through scripts/pg-test-cluster.sh, which gives it a temporary cluster of its own. Without PostgreSQL's
# binaries it is skipped (exit 77), and fails when CI=true.
function(cr_add_pg_test name)
    add_test(NAME ${name}_pg COMMAND "${PROJECT_SOURCE_DIR}/scripts/pg-test-cluster.sh" $<TARGET_FILE:${name}>)
    get_test_property(${name} TIMEOUT timeout)
    set_tests_properties(${name}_pg PROPERTIES TIMEOUT ${timeout} SKIP_RETURN_CODE 77
                         ENVIRONMENT "QT_QPA_PLATFORM=offscreen;CR_TEST_STORE=postgresql")
endfunction()

# Where the recorded ComfyUI traffic lives: the copy in the repository (tests/data/comfyui-captures, see its
# README). Override with -DCR_CAPTURES_DIR=... or the environment variable of the same name at run time.
set(CR_CAPTURES_DIR "${PROJECT_SOURCE_DIR}/tests/data/comfyui-captures" CACHE PATH
    "Folder with the recorded ComfyUI traffic")
get_filename_component(CR_CAPTURES_DIR "${CR_CAPTURES_DIR}" ABSOLUTE)

# cr_add_subdirectories(): adds every direct subfolder that has a CMakeLists.txt, so that new modules and
# test areas plug in without editing a shared list.
function(cr_add_subdirectories)
    cmake_parse_arguments(ARG "" "" "EXCLUDE" ${ARGN})
    file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
    list(SORT children)
    foreach(child IN LISTS children)
        if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt
           AND NOT child IN_LIST ARG_EXCLUDE)
            add_subdirectory(${child})
        endif()
    endforeach()
endfunction()
