# BPF pipeline: vmlinux.h from kernel BTF, clang -target bpf, bpftool gen skeleton.
find_program(BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(BPF_CLANG clang REQUIRED)

set(PROBESCOPE_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF to generate vmlinux.h from")
set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpfgen)

# vmtest's self-check (vmtest/run.sh --unsafe-check): a program that reads past the packet end,
# which every kernel's verifier must reject. Never for a real build.
option(PROBESCOPE_BPF_UNSAFE "Build a verifier-unsafe BPF program (vmtest self-check only)" OFF)
set(BPF_COMMON_DEFINES)
if(PROBESCOPE_BPF_UNSAFE)
  set(BPF_COMMON_DEFINES -DPROBESCOPE_BPF_UNSAFE)
endif()
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${PROBESCOPE_VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${PROBESCOPE_VMLINUX_BTF}"
  VERBATIM)
# One target owns vmlinux.h. Listed only as each object's dependency, the Makefile generator gives
# every skeleton target its own copy of the rule, and a parallel build runs two of them at once:
# one truncates the file while clang reads it (seen: "struct cpufre" under make -j2).
add_custom_target(probescope_vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

# bpf_object(NAME SOURCE [DEFINES...]): builds NAME.bpf.o and NAME.skel.h (struct NAME_bpf), and the
# INTERFACE target NAME_skel that carries the skeleton's include path and libbpf.
function(bpf_object name src)
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  set(defs ${BPF_COMMON_DEFINES})
  foreach(d ${ARGN})
    list(APPEND defs -D${d})
  endforeach()
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/*.h ${CMAKE_SOURCE_DIR}/include/probescope/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 ${defs}
            -Wall -Werror -Wno-unused-function
            -I${BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
            -c ${src} -o ${obj}
    DEPENDS ${src} ${bpf_headers} ${BPF_GEN_DIR}/vmlinux.h
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen ALL DEPENDS ${skel})
  add_dependencies(${name}_skel_gen probescope_vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
