# Helpers shared by every part of the tree.

# cr_set_warnings(target): our code builds warning-free with -Wall -Wextra.
function(cr_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
endfunction()

# cr_add_library(name SOURCES ... LIBS ...): a static library of ours. Includes are written from src/
# (#include "protocol/comfyevents.h", #include "core/config/config.h").
function(cr_add_library name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
    add_library(${name} STATIC ${ARG_SOURCES})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARG_LIBS})
    cr_set_warnings(${name})
endfunction()

# cr_add_test(tst_name SOURCES ... LIBS ... [GUI] [TIMEOUT s]): one Qt Test executable registered with CTest.
# Tests find the recorded ComfyUI traffic through CR_CAPTURES_DIR and the repo through CR_SOURCE_DIR.
function(cr_add_test name)
    cmake_parse_arguments(ARG "GUI" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
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
