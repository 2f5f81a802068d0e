# Fails unless the README's code block between
#   <!-- example:NAME begin -->  and  <!-- example:NAME end -->
# (without its ``` fences) is exactly the file EXAMPLE, so the documented test cannot drift
# from the one ctest builds and runs.
# Usage: cmake -DREADME=README.md -DEXAMPLE=testing/examples/inventory_test.cpp [-DOUT=dir] [-DFENCE=cmake]
#          -P check_readme_example.cmake
# On a difference the README's block is written to OUT (default: the temporary directory).
get_filename_component(name "${EXAMPLE}" NAME)
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
if(NOT DEFINED FENCE)
  set(FENCE cpp)
endif()
set(begin "<!-- example:${name} begin -->\n```${FENCE}\n")
set(end "```\n<!-- example:${name} end -->")
string(FIND "${readme}" "${begin}" start)
string(FIND "${readme}" "${end}" stop)
if(start EQUAL -1 OR stop EQUAL -1)
  message(FATAL_ERROR "${README}: no block between <!-- example:${name} begin --> and its end marker")
endif()
string(LENGTH "${begin}" skip)
math(EXPR start "${start} + ${skip}")
math(EXPR length "${stop} - ${start}")
string(SUBSTRING "${readme}" ${start} ${length} block)
if(NOT block STREQUAL example)
  if(NOT DEFINED OUT)
    set(OUT "$ENV{TMPDIR}")
    if(OUT STREQUAL "")
      set(OUT /tmp)
    endif()
  endif()
  file(WRITE "${OUT}/readme_${name}" "${block}")
  message(FATAL_ERROR "the README's ${name} block differs from ${EXAMPLE}: diff ${OUT}/readme_${name} ${EXAMPLE}")
endif()
