# Install rules: the libraries, every folder's public include/parley tree, the parley program,
# and a CMake package (parleyConfig.cmake, parleyConfigVersion.cmake) exporting parley::crdt,
# parley::model, parley::core, parley::resolvers, parley::sync and parley::testing, so a project
# can find_package(parley) and link them. The targets carry cxx_std_20, so a consumer needs no
# CMAKE_CXX_STANDARD of its own, and a project(x CXX) without C finds the package.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PARLEY_LIBRARIES crdt model core resolvers sync testing)
foreach(part IN LISTS PARLEY_LIBRARIES)
  set(target parley_${part})
  add_library(parley::${part} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${part})
  # parley's public headers use C++20 (operator<=>, concepts): whoever links them compiles as C++20.
  target_compile_features(${target} INTERFACE cxx_std_20)
  # Each folder adds its include directory for the build tree; installed, it is include/.
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(interface "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  foreach(dir IN LISTS dirs)
    if(dir MATCHES "^\\$<")
      list(APPEND interface "${dir}")
    else()
      list(APPEND interface "$<BUILD_INTERFACE:${dir}>")
      install(DIRECTORY ${dir}/parley DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES interface)
  set_property(TARGET ${target} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${interface}")
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/testing/include/parley DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set_target_properties(parley_warnings PROPERTIES EXPORT_NAME warnings)
install(TARGETS parley_crdt parley_model parley_storage parley_fold parley_capture parley_apply parley_core parley_resolvers parley_sync parley_testing parley_warnings
        EXPORT parleyTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS parley RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(PARLEY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/parley)
install(EXPORT parleyTargets NAMESPACE parley:: DESTINATION ${PARLEY_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/parleyConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/parleyConfig.cmake INSTALL_DESTINATION ${PARLEY_CMAKE_DIR})
# Before 1.0 a minor version may break the API: find_package(parley 0.1) takes 0.1.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/parleyConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/parleyConfig.cmake ${PROJECT_BINARY_DIR}/parleyConfigVersion.cmake
        DESTINATION ${PARLEY_CMAKE_DIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/parleyLibatomic.cmake DESTINATION ${PARLEY_CMAKE_DIR})
