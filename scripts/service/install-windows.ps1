# Installs vmirror on a Windows application server as a scheduled task that starts at boot and
# runs as SYSTEM (a plain executable registered with sc.exe fails with error 1053: it does not
# speak the service protocol). Run in an elevated PowerShell:
#   .\install-windows.ps1 -Exe C:\vmirror\vmirror.exe -Config C:\vmirror\vmirror.json -Data C:\vmirror\data
# Upgrade: Stop-ScheduledTask vmirror; replace vmirror.exe; Start-ScheduledTask vmirror.
param(
  [Parameter(Mandatory = $true)][string]$Exe,
  [Parameter(Mandatory = $true)][string]$Config,
  [Parameter(Mandatory = $true)][string]$Data
)
$ErrorActionPreference = "Stop"
if (-not (Test-Path $Exe)) { throw "No executable at $Exe" }
if (-not (Test-Path $Config)) { throw "No configuration at $Config" }
New-Item -ItemType Directory -Force -Path $Data | Out-Null
$action = New-ScheduledTaskAction -Execute $Exe -Argument "serve --config `"$Config`" --data `"$Data`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
# Restart on failure, never stop after a time limit.
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
  -ExecutionTimeLimit ([TimeSpan]::Zero) -StartWhenAvailable
Register-ScheduledTask -TaskName "vmirror" -Action $action -Trigger $trigger -Principal $principal `
  -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName "vmirror"
Write-Host "vmirror installed and started; portal per the configuration's portal.listen"
