# `cmake --install build --prefix P`: the CLI and the stock worker in P/bin, the public
# headers in P/include/parallelagram, libparallelagram.so in P/lib, and a CMake package
# (P/lib/cmake/parallelagram) so that another project does
#   find_package(parallelagram CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE parallelagram::parallelagram)
#   parallelagram_add_function_zip(app)   # the Lambda zip of a program that is its own worker
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PG_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/parallelagram)

install(TARGETS parallelagram bootstrap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS parallelagram_lib EXPORT parallelagramTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/parallelagram
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The exported target's name is parallelagram::parallelagram (its file is libparallelagram).
set_target_properties(parallelagram_lib PROPERTIES EXPORT_NAME parallelagram)
install(EXPORT parallelagramTargets NAMESPACE parallelagram::
        DESTINATION ${PG_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/parallelagramConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/parallelagramConfig.cmake
                              INSTALL_DESTINATION ${PG_INSTALL_CMAKEDIR}
                              PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/parallelagramConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/parallelagramConfig.cmake
              ${PROJECT_BINARY_DIR}/parallelagramConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/parallelagramFunctions.cmake
        DESTINATION ${PG_INSTALL_CMAKEDIR})
