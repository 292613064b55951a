# Tests that are not Catch2 executables.
add_test(NAME install:find_package_consumer
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(install:find_package_consumer PROPERTIES TIMEOUT 300)

if(TARGET tlc_cli)
  add_test(NAME cli:smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_smoke.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:smoke PROPERTIES TIMEOUT 600)
  add_test(NAME cli:usage COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_usage.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:usage PROPERTIES TIMEOUT 300)
  add_test(NAME cli:shipped_models
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/shipped_models.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:shipped_models PROPERTIES TIMEOUT 300)
endif()
