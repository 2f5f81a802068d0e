# Install rules: the libraries, every folder's public include/parley tree, and a CMake package
# (parleyConfig.cmake) exporting parley::crdt, parley::model, parley::core, parley::resolvers, parley::sync
# and parley::testing, so a project can find_package(parley) and link them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PARLEY_LIBRARIES crdt model core resolvers sync testing)
foreach(part IN LISTS PARLEY_LIBRARIES)
  set(target parley_${part})
  add_library(parley::${part} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${part})
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
install(TARGETS parley_crdt parley_model parley_core parley_resolvers parley_sync parley_testing parley_warnings
        EXPORT parleyTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
set(PARLEY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/parley)
install(EXPORT parleyTargets NAMESPACE parley:: DESTINATION ${PARLEY_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/parleyConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/parleyConfig.cmake INSTALL_DESTINATION ${PARLEY_CMAKE_DIR})
install(FILES ${PROJECT_BINARY_DIR}/parleyConfig.cmake DESTINATION ${PARLEY_CMAKE_DIR})
