/* The park operator's page (filled in by the park page work). */
sharefab.ready(["common", "park"]).catch(function () {});
