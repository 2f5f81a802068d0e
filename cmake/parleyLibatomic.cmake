# Cap'n Proto's CMake package (CapnProtoConfig.cmake) checks for libatomic with
# check_library_exists(), which compiles C: in a project without C enabled (project(x CXX)) it
# fails with a misleading "libatomic not found". The same check is made here with whichever of
# C++ or C the project has, and its answer stored where Cap'n Proto's check reads it
# (FOUND_LIBATOMIC), so Cap'n Proto skips its own. Included before find_package(CapnProto).
if(NOT DEFINED FOUND_LIBATOMIC)
  get_property(_parley_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if("CXX" IN_LIST _parley_languages AND NOT "C" IN_LIST _parley_languages)
    include(CheckCXXSourceCompiles)
    set(_parley_required_libraries ${CMAKE_REQUIRED_LIBRARIES})
    set(_parley_required_quiet ${CMAKE_REQUIRED_QUIET})
    list(APPEND CMAKE_REQUIRED_LIBRARIES atomic)
    set(CMAKE_REQUIRED_QUIET ON)
    check_cxx_source_compiles("int main() { return 0; }" FOUND_LIBATOMIC)
    set(CMAKE_REQUIRED_LIBRARIES ${_parley_required_libraries})
    set(CMAKE_REQUIRED_QUIET ${_parley_required_quiet})
    if(NOT FOUND_LIBATOMIC)
      message(FATAL_ERROR "parley: Cap'n Proto needs libatomic, and linking a C++ program with -latomic failed "
                          "(on Debian: apt-get install libatomic1; see CMakeFiles/CMakeError.log)")
    endif()
  endif()
endif()
