// A shared library that is not a parrot plugin: it exports nothing the loader looks for.

extern "C" int not_a_plugin_answer() { return 42; }
