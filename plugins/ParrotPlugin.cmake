# parrot_add_plugin(NAME SOURCES ... [LIBRARIES ...])
# Builds a plugin as a MODULE library NAME.so in the build's plugin folder, where `suite`
# finds it. A plugin includes only <parrot/...> headers and LibTorch.
function(parrot_add_plugin name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE parrot ${arg_LIBRARIES})
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${PARROT_PLUGIN_DIR})
endfunction()
