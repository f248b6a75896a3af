// Every public header, included from C++: they must compile as C++ and give C linkage.
#include <mlp/data.h>
#include <mlp/fit.h>
#include <mlp/mlp.h>
#include <mlp/model.h>

#include <cstring>

extern "C" int consumer_cxx_version_ok(void);

int consumer_cxx_version_ok(void) {
    mlp_fit_options o = mlp_fit_options_default();
    return std::strcmp(mlp_version(), MLP_VERSION_STRING) == 0 && o.max_iter == 200;
}
