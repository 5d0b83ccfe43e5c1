# parallelagram_add_function_zip(TARGET [OUTPUT zip])
#
# Makes the Lambda function zip of TARGET, a program that is its own worker (it calls
# parallelagram::ServeIfWorker first thing): `parallelagram package --bootstrap`, with the
# same closure rules (every shared library it loads, started through its own loader, so it
# runs in a bare provided.al2023 environment). The zip is built with TARGET, as
# ${CMAKE_CURRENT_BINARY_DIR}/TARGET-function.zip unless OUTPUT names it; deploy it with
# `parallelagram deploy --bootstrap $<TARGET_FILE:TARGET>` (which packages the same way).
function(parallelagram_add_function_zip target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT" "")
  if(NOT arg_OUTPUT)
    set(arg_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${target}-function.zip)
  endif()
  if(TARGET parallelagram)  # inside the source tree (add_subdirectory / FetchContent)
    set(cli $<TARGET_FILE:parallelagram>)
    set(deps parallelagram)
  elseif(PARALLELAGRAM_EXECUTABLE)
    set(cli ${PARALLELAGRAM_EXECUTABLE})
    set(deps "")
  else()
    message(FATAL_ERROR "parallelagram_add_function_zip: no parallelagram CLI (find_package(parallelagram) first)")
  endif()
  add_custom_command(
    OUTPUT ${arg_OUTPUT}
    COMMAND ${cli} package --bootstrap $<TARGET_FILE:${target}> -o ${arg_OUTPUT}
    DEPENDS ${target} ${deps}
    COMMENT "Packaging ${target} as a Lambda function zip"
    VERBATIM)
  add_custom_target(${target}_function_zip ALL DEPENDS ${arg_OUTPUT})
endfunction()
