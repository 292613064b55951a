# Tests that are not Catch2 executables.
add_test(NAME install:find_package_consumer
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(install:find_package_consumer PROPERTIES TIMEOUT 300)

if(TARGET tlc_cli)
  add_test(NAME cli:smoke COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_smoke.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:smoke PROPERTIES TIMEOUT 600)
  add_test(NAME cli:train_runs COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train_runs.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:train_runs PROPERTIES TIMEOUT 600)
  add_test(NAME cli:usage COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_usage.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:usage PROPERTIES TIMEOUT 300)
  add_test(NAME cli:shipped_models
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/shipped_models.sh $<TARGET_FILE:tlc_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli:shipped_models PROPERTIES TIMEOUT 300)
endif()

# Multi-rank tests, started by the MPI launcher. Open MPI refuses root without the
# ALLOW_RUN_AS_ROOT pair and more ranks than cores without oversubscription (other MPIs ignore these).
if(TLC_HAVE_MPI)
  set(TLC_MPI_TEST_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
      TLC_DIST_TIMEOUT=60)
  foreach(name test_collectives test_dist_train)
    add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/dist/${name}.cpp)
    target_link_libraries(${name} PRIVATE tlc::mpi tlc_build_flags Catch2::Catch2)
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  endforeach()
  foreach(np 2 3)
    add_test(NAME dist:collectives_${np}_ranks COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np}
             $<TARGET_FILE:test_collectives>)
  endforeach()
  add_test(NAME dist:train_2_ranks_equal_1_process COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2
           $<TARGET_FILE:test_dist_train>)
  set(TLC_DIST_TESTS dist:collectives_2_ranks dist:collectives_3_ranks dist:train_2_ranks_equal_1_process)
  add_executable(dist_fault ${CMAKE_CURRENT_SOURCE_DIR}/dist/fault.cpp)
  target_link_libraries(dist_fault PRIVATE tlc::mpi tlc_build_flags)
  if(TARGET tlc_cli)
    add_test(NAME dist:cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dist/dist_cli.sh $<TARGET_FILE:tlc_cli>
             ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:dist_fault>)
    list(APPEND TLC_DIST_TESTS dist:cli)
  endif()
  # RUN_SERIAL: each starts several processes on a 2-core machine.
  set_tests_properties(${TLC_DIST_TESTS} PROPERTIES ENVIRONMENT "${TLC_MPI_TEST_ENV}" TIMEOUT 300 RUN_SERIAL TRUE)
endif()

# NCCL on the GPUs of this machine (skipped, exit 77, without one): one rank alone; gpu-check.sh
# also runs it under mpirun on machines with several GPUs.
if(TLC_HAVE_NCCL)
  add_executable(test_nccl ${CMAKE_CURRENT_SOURCE_DIR}/dist/test_nccl.cpp)
  target_link_libraries(test_nccl PRIVATE tlc::cuda tlc_build_flags)
  if(TLC_HAVE_MPI)
    target_link_libraries(test_nccl PRIVATE tlc::mpi)
  endif()
  add_test(NAME dist:nccl_1_gpu COMMAND test_nccl)
  set_tests_properties(dist:nccl_1_gpu PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
