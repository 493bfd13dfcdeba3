# The standalone gateway (`kt gateway run`) on port 41002.
#   docker build -t keeptrusts/kt .
#   docker run -p 41002:41002 -v "$PWD/policy-config.yaml:/etc/keeptrusts/policy-config.yaml:ro" keeptrusts/kt
# Without a mounted configuration the image serves the quickstart sample (echo target, no keys needed).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props nuget.config global.json ./
COPY schema/ schema/
COPY src/ src/
RUN dotnet publish src/Keeptrusts.GatewayHost/Keeptrusts.GatewayHost.csproj -c Release -o /app -p:ContinuousIntegrationBuild=true

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app/ ./
COPY samples/quickstart/policy-config.yaml /etc/keeptrusts/policy-config.yaml
# The data directory (event spool, relative audit paths) belongs to the non-root user the base image provides.
RUN mkdir -p /var/lib/keeptrusts && chown "$APP_UID" /var/lib/keeptrusts
WORKDIR /var/lib/keeptrusts
ENV KEEPTRUSTS_DATA_DIR=/var/lib/keeptrusts
USER $APP_UID
EXPOSE 41002
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
  CMD ["dotnet", "/app/kt.dll", "doctor", "--policy-config", "/etc/keeptrusts/policy-config.yaml"]
ENTRYPOINT ["dotnet", "/app/kt.dll"]
CMD ["gateway", "run", "--policy-config", "/etc/keeptrusts/policy-config.yaml"]
